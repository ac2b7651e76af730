import { debuglog } from 'node:util';
import { MonotonicClock } from './clock';
import { StackDriver } from './driver';
import type { Device } from './phy/device';
import { TracerDevice } from './phy/tracer';
import { TapDevice, TunDevice } from './phy/tuntap';
import { createStack, type Stack } from './stack';
import type { Ipv4Address, Ipv4Cidr, Ipv6Address, MacAddress } from './wire/address';

/** What it takes to run a stack on a real device: the CLI's options, later the preload's environment. */
export interface HostSettings {
  /** `offload`: receive offload on the device (TunTapOptions.offload), on unless false. */
  device: { kind: 'tap' | 'tun'; name: string; netns?: string; offload?: boolean };
  mac?: MacAddress;
  ipv4: Ipv4Cidr[];
  /** Probe IPv4 addresses before use (RFC 5227 §2.1, the default); off, they are usable at once, announced and defended. */
  probeIpv4?: boolean;
  /** Duplicate Address Detection on IPv6 addresses before use (RFC 4862 §5.4, the default); off, DupAddrDetectTransmits is 0 and they are usable at once. */
  probeIpv6?: boolean;
  /** Also get an address by DHCP (RFC 2131). */
  dhcp?: boolean;
  /** IPv6 (a TAP only): off, or static addresses and SLAAC beside the link-local address. */
  ipv6?: false | { addresses: { address: Ipv6Address; prefixLen: number }[]; slaac: boolean };
  gateway?: Ipv4Address;
  mtu?: number;
  /** DNS servers given by configuration; when set they replace those DHCP, RAs (RDNSS) and DHCPv6 supply. */
  dns?: (Ipv4Address | Ipv6Address)[];
  /** One line per packet on stderr (also on with NODE_DEBUG=pytcp). */
  log?: boolean;
  /** Whether the running stack alone keeps the process alive (the CLI: yes; a preload: no). */
  keepAlive?: boolean;
}

export interface RunningStack {
  /** What it was started with (the DNS servers among them). */
  readonly settings: HostSettings;
  readonly stack: Stack;
  readonly driver: StackDriver;
  readonly device: Device;
  stop(): void;
}

/** Whether NODE_DEBUG names pytcp, as Node's own modules read it. */
export function packetLogRequested(): boolean {
  return debuglog('pytcp').enabled;
}

/** Opens the device, builds the stack and starts driving it. Throws the device's errno error. */
export function launchStack(settings: HostSettings, writeLog: (line: string) => void = (l) => process.stderr.write(l + '\n')): RunningStack {
  const clock = new MonotonicClock();
  const open = settings.device.kind === 'tap' ? TapDevice.open : TunDevice.open;
  const raw = open({ name: settings.device.name, mtu: settings.mtu, netns: settings.device.netns, offload: settings.device.offload ?? true });
  if (!settings.keepAlive) raw.unref();
  const device: Device = settings.log || packetLogRequested() ? new TracerDevice(raw, writeLog, clock) : raw;
  try {
    const stack = createStack({
      interfaces: [
        {
          device,
          mac: settings.mac,
          ipv4: settings.ipv4,
          gateway: settings.gateway,
          mtu: settings.mtu,
          dhcp: settings.dhcp,
          ipv6: settings.ipv6 && { ...settings.ipv6, dad: settings.probeIpv6 === false ? { transmits: 0 } : undefined },
          acd: settings.probeIpv4 === false ? { probe: false } : undefined,
        },
      ],
    });
    const driver = new StackDriver(stack, { clock, keepAlive: settings.keepAlive }).start();
    return { settings, stack, driver, device, stop: () => driver.stop() };
  } catch (err) {
    device.close();
    throw err;
  }
}
