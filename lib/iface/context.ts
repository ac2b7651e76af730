import type { Random } from '../random';
import type { StackStats } from '../stats';
import type { Ipv4Address, Ipv4Cidr, MacAddress } from '../wire/address';

/** Notifications the core queues during `poll`; the driver delivers them after it returns. */
export type StackEvent =
  | { type: 'address-ready'; interface: string; address: Ipv4Cidr }
  | { type: 'address-conflict'; interface: string; address: Ipv4Cidr; holder: MacAddress }
  | { type: 'neighbor-unreachable'; interface: string; address: Ipv4Address };

/** What every part of one stack shares: built once in `createStack`, never global. */
export interface StackContext {
  readonly stats: StackStats;
  readonly random: Random;
  notify(event: StackEvent): void;
}
