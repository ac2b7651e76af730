/**
 * pytcp: a user-space TCP/IP stack for Node.js. The library entry point: build a stack
 * on devices with `createStack`, run it with `StackDriver` (or `launchStack` on a TAP/TUN),
 * and reach every layer's pieces for tests and tools.
 */
export { createStack, Stack, type StackOptions, type InterfaceOptions, type StackEvent } from './stack';
export { StackDriver, type DriverOptions, type DriverEvents } from './driver';
export { launchStack, type HostSettings, type RunningStack } from './launch';
export { ManualClock, MonotonicClock, type Clock } from './clock';
export { CryptoRandom, SeededRandom, type Random } from './random';
export { StackStats, ProtocolCounters } from './stats';
export type { Device, DeviceListener, Medium } from './phy/device';
export { createPipe, PipeEnd, type PipeOptions } from './phy/pipe';
export { FaultDevice, type FaultOptions, type FaultStats } from './phy/fault';
export { TracerDevice } from './phy/tracer';
export { LoopbackDevice } from './phy/loopback';
export { TapDevice, TunDevice, type TunTapOptions } from './phy/tuntap';
export { MacAddress, Ipv4Address, Ipv4Cidr, Ipv6Address } from './wire/address';
export { describeFrame } from './wire/describe';
export type { NetInterface } from './iface/interface';
export type { NeighborState, NeighborEntry } from './iface/neighbor-cache';
export type { AcdState } from './iface/acd';
export type { Ipv6Binding, Ipv6Origin } from './iface/ipv6-host';
export type { Dhcp4Lease } from './iface/dhcp4-client';
export type { Dhcp6Lease } from './iface/dhcp6-client';
