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
export { StackStats, ProtocolCounters, TcpCounters } from './stats';
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
export { Tcp, type TcpListenRequest, type TcpConnectRequest, type TcpListenError, type TcpConnectError, type TcpReady } from './socket/tcp/tcp';
export { TcpListener } from './socket/tcp/listener';
export { TcpConnection } from './socket/tcp/connection';
export { TcpState } from './socket/tcp/state';
export { DEFAULT_TCP_CONFIG, type TcpConfig } from './socket/tcp/config';
export type { TcpEndpoint, TcpFourTuple, TcpErrno, TcpNotice } from './socket/tcp/types';
export { tcpConnect, createTcpServer, TcpSocket, TcpServer, type TcpSocketError, type TcpSocketEvents, type TcpServerEvents } from './tcp-socket';
export { connector, registeredStack, type Connector, type ConnectorOptions, type ConnectParams, type StackToConnectOn } from '../shim/undici';
