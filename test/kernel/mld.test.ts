/**
 * MLDv2 queries against a running stack (RFC 3810): the kernel peer's namespace sends
 * crafted Version 2 Queries (test/kernel/send-mld-query.py, a raw Ethernet frame with the
 * Hop-by-Hop Router Alert of §5) and tcpdump records what the stack answers.
 *
 *   a General Query (§5.1.5)              → a Current State Report (§6.2, §6.3) to ff02::16
 *                                           with MODE_IS_EXCLUDE records for both
 *                                           solicited-node groups, none for ff02::1 (§6)
 *   a Multicast-Address-Specific Query     → a Report with that group only
 *   a query with hop limit 64              → ignored (§5.1.14: hop limit must be 1)
 *
 * The pcap is read here with a small reader, so each assertion sees the parsed records.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ipv6Address } from '../../lib/wire/address';
import { createLab, tunAvailable, type Capture, type Lab, type StackProcess } from '../lab/lab.js';

const HAVE_TCPDUMP = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((dir) => fs.existsSync(path.join(dir, 'tcpdump')));
const PYTHON = '/usr/bin/python3';
const HAVE_PYTHON = fs.existsSync(PYTHON);
if (!tunAvailable()) {
  console.warn('SKIPPING test/kernel/mld: /dev/net/tun is missing, so the stack cannot meet a real kernel here (needs root and the tun module)');
} else if (!HAVE_TCPDUMP || !HAVE_PYTHON) {
  console.warn(`SKIPPING test/kernel/mld: needs tcpdump and ${PYTHON} (apt-get install -y tcpdump python3)`);
}

const SENDER = path.join(__dirname, 'send-mld-query.py');
const STATIC = 'fd00:77::40';
const READY_MS = 15_000;
/** The queries' Maximum Response Code: 1000 ms (codes below 32768 are milliseconds, §5.1.3). */
const MAX_RESP_MS = 1_000;
/** The report is due within MAX_RESP_MS; the rest is margin for a busy machine. */
const ANSWER_MS = 3_000;
const MLD_REPORT_V2 = 143;
const MODE_IS_EXCLUDE = 2;

interface ReportRecord {
  type: number;
  group: string;
  sources: number;
}

interface Report {
  dst: string;
  hopLimit: number;
  records: ReportRecord[];
}

/** One Ethernet frame of a pcap file, with its source MAC ('aa:bb:..'). */
interface Frame {
  srcMac: string;
  bytes: Buffer;
}

/** The frames of a classic pcap file (either byte order); a record cut short at the end is left out. */
function readPcap(file: string): Frame[] {
  const data = fs.readFileSync(file);
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && data.readUInt32BE(0) !== 0xa1b2c3d4 && data.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file}: not a pcap file`);
  const u32 = (at: number) => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const frames: Frame[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const length = u32(at + 8);
    if (at + 16 + length > data.length) break;
    const bytes = data.subarray(at + 16, at + 16 + length);
    if (bytes.length >= 14) frames.push({ srcMac: [...bytes.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':'), bytes });
    at += 16 + length;
  }
  return frames;
}

/** An MLDv2 Report behind a Hop-by-Hop header, as the stack sends it (RFC 3810 §5.2); else undefined. */
function parseReport(frame: Buffer): Report | undefined {
  const ip = 14;
  if (frame.length < ip + 40 || frame.readUInt16BE(12) !== 0x86dd || frame[ip + 6] !== 0) return undefined;
  const hbh = ip + 40;
  if (frame.length < hbh + 8 || frame[hbh] !== 58) return undefined;
  const icmp = hbh + (frame[hbh + 1] + 1) * 8;
  if (frame.length < icmp + 8 || frame[icmp] !== MLD_REPORT_V2) return undefined;
  const records: ReportRecord[] = [];
  let at = icmp + 8;
  for (let i = 0; i < frame.readUInt16BE(icmp + 6); i++) {
    if (frame.length < at + 20) throw new Error('truncated report record');
    const auxWords = frame[at + 1];
    const sources = frame.readUInt16BE(at + 2);
    records.push({ type: frame[at], group: Ipv6Address.fromBytes(frame.subarray(at + 4, at + 20)).toString(), sources });
    at += 20 + sources * 16 + auxWords * 4;
  }
  return { dst: Ipv6Address.fromBytes(frame.subarray(ip + 24, ip + 40)).toString(), hopLimit: frame[ip + 7], records };
}

/** RFC 4291 Appendix A: fe80:: + the modified EUI-64 of `mac`; computed by hand, not with the stack's code. */
function eui64LinkLocal(mac: string): string {
  const m = mac.split(':').map((part) => parseInt(part, 16));
  const iid = [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]];
  const groups = [0, 2, 4, 6].map((i) => ((iid[i] << 8) | iid[i + 1]).toString(16));
  return Ipv6Address.parse(`fe80::${groups.join(':')}`).toString();
}

/** RFC 4291 §2.7.1: ff02::1:ff + the low 24 bits of the address. */
function solicitedNode(address: string): string {
  const b = Ipv6Address.parse(address).bytes;
  return Ipv6Address.parse(`ff02::1:ff${b[13].toString(16).padStart(2, '0')}:${((b[14] << 8) | b[15]).toString(16)}`).toString();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!tunAvailable() || !HAVE_TCPDUMP || !HAVE_PYTHON)('MLDv2 queries against the stack', () => {
  let dir = '';
  let failed = false;
  let lab: Lab | undefined;
  let stack: StackProcess | undefined;
  let capture: Capture | undefined;
  let peerLinkLocal = '';
  let stackLinkLocal = '';

  /** The stack's MLDv2 Reports in the capture so far, in order. */
  const reports = (): Report[] =>
    readPcap(capture!.file)
      .filter((f) => f.srcMac === lab!.stackMac.toLowerCase())
      .map((f) => parseReport(f.bytes))
      .filter((r): r is Report => r !== undefined);

  /** Sends one query from the peer's link-local address; returns how many Reports the capture held before. */
  async function sendQuery(dst: string, group: string, hopLimit: number): Promise<number> {
    // Let any report still on its way (a late answer or retransmission) land first, so
    // what comes after the query is the answer to it: quiet for 1.2 s, at most 6 s.
    const end = Date.now() + 6_000;
    let seen = reports().length;
    let quietSince = Date.now();
    while (Date.now() - quietSince < 1_200 && Date.now() < end) {
      await sleep(100);
      const now = reports().length;
      if (now !== seen) {
        seen = now;
        quietSince = Date.now();
      }
    }
    const before = reports().length;
    const sent = await lab!.exec(lab!.peerNs, [PYTHON, SENDER, lab!.peerIf, lab!.peerMac, peerLinkLocal, dst, group, String(hopLimit), String(MAX_RESP_MS)]);
    if (sent.code !== 0) throw new Error(`send-mld-query.py failed (${sent.code}): ${sent.stderr}`);
    return before;
  }

  /** The Reports after the first `before`, once at least one has come; polls for at most `ms`. */
  async function reportsAfter(before: number, ms: number): Promise<Report[]> {
    const end = Date.now() + ms;
    for (;;) {
      const fresh = reports().slice(before);
      if (fresh.length > 0 || Date.now() > end) return fresh;
      await sleep(50);
    }
  }

  beforeAll(async () => {
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytcp-mld-'));
      lab = await createLab({ name: 'mld' });
      const addrs = await lab.exec(lab.peerNs, ['ip', '-6', '-o', 'addr', 'show', 'dev', lab.peerIf, 'scope', 'link']);
      peerLinkLocal = /inet6 (fe80::[0-9a-f:]+)\//.exec(addrs.stdout)?.[1] ?? eui64LinkLocal(lab.peerMac);
      stack = lab.startStack(['--ipv6', `${STATIC}/64`]);
      stackLinkLocal = eui64LinkLocal(lab.stackMac);
      await Promise.all([
        stack.waitForLine(`pytcp: ipv6 ${STATIC}/64 ready (static)`, READY_MS, 'stdout'),
        stack.waitForLine(`pytcp: ipv6 ${stackLinkLocal}/64 ready (link-local)`, READY_MS, 'stdout'),
      ]);
      // The unsolicited reports of the joins (robustness 2, 1 s apart, §6.1) are over by now.
      await sleep(3_000);
      capture = await lab.capture(path.join(dir, 'mld.pcap'));
    } catch (err) {
      failed = true;
      throw err;
    }
  }, 45_000);

  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    await capture?.stop();
    await lab?.destroy();
    if (!dir) return;
    if (failed) {
      console.warn(`test/kernel/mld failed: packet capture kept for inspection: ${capture?.file ?? '(none)'}`);
      if (stack) console.warn(stack.describe());
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('answers a General Query with MODE_IS_EXCLUDE records for both solicited-node groups, none for ff02::1', async () => {
    const before = await sendQuery('ff02::1', '::', 1);
    const fresh = await reportsAfter(before, ANSWER_MS);
    expect(fresh.length, 'no MLDv2 report within 3 s of the General Query').toBeGreaterThan(0);
    const [report] = fresh;
    expect(report.dst).toBe('ff02::16');
    expect(report.hopLimit).toBe(1);
    const groups = report.records.map((r) => r.group);
    for (const group of [solicitedNode(STATIC), solicitedNode(stackLinkLocal)]) {
      expect(report.records, JSON.stringify(report)).toContainEqual({ type: MODE_IS_EXCLUDE, group, sources: 0 });
    }
    expect(solicitedNode(STATIC)).toBe('ff02::1:ff00:40');
    // RFC 3810 §6: the link-scope all-nodes address is never reported.
    expect(groups).not.toContain('ff02::1');
  });

  it('answers a Multicast-Address-Specific Query with a report of that group only', async () => {
    const group = solicitedNode(STATIC);
    const before = await sendQuery(group, group, 1);
    const fresh = await reportsAfter(before, ANSWER_MS);
    expect(fresh.length, 'no MLDv2 report within 3 s of the address-specific query').toBeGreaterThan(0);
    expect(fresh[0].dst).toBe('ff02::16');
    expect(fresh[0].records).toEqual([{ type: MODE_IS_EXCLUDE, group, sources: 0 }]);
  });

  it('ignores a query with hop limit 64 (RFC 3810 §5.1.14)', async () => {
    const before = await sendQuery('ff02::1', '::', 64);
    // Past the query's whole Maximum Response Delay and then some.
    await sleep(ANSWER_MS);
    expect(reports().slice(before)).toEqual([]);
    // The capture saw the query itself, so silence is not a blind capture.
    const queries = readPcap(capture!.file).filter((f) => f.srcMac === lab!.peerMac.toLowerCase() && f.bytes.length >= 62 && f.bytes[54] === 58 && f.bytes[62] === 130);
    expect(queries.map((f) => f.bytes[21])).toContain(64);
  });
});
