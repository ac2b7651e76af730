import type { Random } from '../random';
import type { StackStats } from '../stats';
import type { Ipv4Address, Ipv4Cidr, Ipv6Address, MacAddress } from '../wire/address';
import type { Ipv6Origin } from './ipv6-host';
import type { AddressOrigin } from './interface';
import type { Dhcp4Lease } from './dhcp4-client';

/** Notifications the core queues during `poll`; the driver delivers them after it returns. */
export type StackEvent =
  | { type: 'address-ready'; interface: string; address: Ipv4Cidr; origin: AddressOrigin }
  | { type: 'address-conflict'; interface: string; address: Ipv4Cidr; holder: MacAddress; origin: AddressOrigin }
  | { type: 'neighbor-unreachable'; interface: string; address: Ipv4Address }
  | { type: 'dhcp-bound'; interface: string; lease: Dhcp4Lease; renewed: boolean }
  | { type: 'dhcp-unbound'; interface: string; address: Ipv4Cidr; reason: 'expired' | 'nak' | 'released' | 'declined' }
  | { type: 'ipv6-address-ready'; interface: string; address: Ipv6Address; prefixLen: number; origin: Ipv6Origin }
  | { type: 'ipv6-address-duplicate'; interface: string; address: Ipv6Address; prefixLen: number; origin: Ipv6Origin }
  | { type: 'ipv6-address-removed'; interface: string; address: Ipv6Address; prefixLen: number }
  | { type: 'dhcp6-bound'; interface: string; address: Ipv6Address; validS: number; dnsServers: Ipv6Address[] }
  | { type: 'dhcp6-unbound'; interface: string; address: Ipv6Address; reason: 'expired' | 'released' | 'declined' | 'nak' }
  | { type: 'echo-reply'; from: Ipv4Address | Ipv6Address; ident: number; seq: number; ttl: number; size: number }
  | { type: 'echo-error'; to: Ipv4Address | Ipv6Address; ident: number; seq: number; kind: string; reporter: Ipv4Address | Ipv6Address | undefined };

/** What every part of one stack shares: built once in `createStack`, never global. */
export interface StackContext {
  readonly stats: StackStats;
  readonly random: Random;
  notify(event: StackEvent): void;
}
