import { describe, it, expect } from 'vitest';
import { FragmentTable, reassembledEcn, type ArrivingFragment, type ReassemblyConfig } from '../../lib/iface/fragment-table';
import { ProtocolCounters } from '../../lib/stats';

type First = { quote: Uint8Array };
type Table = FragmentTable<string, First>;

const CONFIG: ReassemblyConfig = { timeoutMs: 1000, maxBytes: 1 << 20, maxDatagrams: 8, maxFragments: 8 };
/** Data bytes plus the table's per-fragment overhead. */
const COST_OF_8 = 8 + 64;

function setup(config: Partial<ReassemblyConfig> = {}): { table: Table; stats: ProtocolCounters } {
  const stats = new ProtocolCounters();
  return { table: new FragmentTable(stats, { ...CONFIG, ...config }), stats };
}

function fragment(key: string, offset: number, isLast: boolean, fill = 1, first?: First): ArrivingFragment<string, First> {
  return { key, src: `src-${key}`, dst: `dst-${key}`, offset, data: new Uint8Array(8).fill(fill), isLast, ecn: 0, first, extraCost: 0 };
}

function hold(table: Table, f: ArrivingFragment<string, First>, now = 0) {
  return table.hold(table.get(f.key), f, now);
}

describe('FragmentTable', () => {
  it('returns the datagram once its held data reaches the last fragment\'s end, whatever the order', () => {
    const { table } = setup();
    expect(hold(table, fragment('a', 8, true))).toBeUndefined();
    const whole = hold(table, fragment('a', 0, false, 2));
    expect(whole?.fragments.map((f) => f.offset)).toEqual([0, 8]);
    expect(whole?.totalLen).toBe(16);
    expect(table.bytesHeld).toBe(2 * COST_OF_8);
    table.remove(whole!);
    expect(table.bytesHeld).toBe(0);
    expect(table.datagramsHeld).toBe(0);
  });

  it('keeps a discarded datagram as a tombstone that holds no bytes and times out silently', () => {
    const { table, stats } = setup();
    hold(table, fragment('a', 0, false, 1, { quote: new Uint8Array(4) }), 0);
    table.discard(table.get('a'), 'frag-overlap');
    expect(table.get('a')?.discarded).toBe(true);
    expect(table.bytesHeld).toBe(0);
    expect(table.datagramsHeld).toBe(1);
    expect(table.pollAt()).toBe(1000);
    expect(table.poll(1000)).toEqual([]);
    expect(table.datagramsHeld).toBe(0);
    expect(stats.dropped).toEqual({ 'frag-overlap': 1 });
  });

  it('counts a drop without a datagram, touching nothing', () => {
    const { table, stats } = setup();
    expect(table.discard(undefined, 'frag-too-big')).toBeUndefined();
    expect(table.drop('frag-empty')).toBeUndefined();
    expect(table.datagramsHeld).toBe(0);
    expect(stats.dropped).toEqual({ 'frag-too-big': 1, 'frag-empty': 1 });
  });

  it('times datagrams out in arrival order, returning the first fragment\'s quote when it came', () => {
    const { table, stats } = setup();
    const quote = Uint8Array.of(9, 9);
    hold(table, fragment('a', 8, false), 0);
    hold(table, fragment('b', 0, false, 1, { quote }), 500);
    expect(table.poll(999)).toEqual([]);
    expect(table.poll(1000)).toEqual([{ firstFragment: undefined, src: 'src-a', dst: 'dst-a' }]);
    expect(table.pollAt()).toBe(1500);
    expect(table.poll(1500)).toEqual([{ firstFragment: quote, src: 'src-b', dst: 'dst-b' }]);
    expect(table.pollAt()).toBeUndefined();
    expect(stats.dropped).toEqual({ 'frag-timeout': 2 });
  });

  it('evicts a tombstone for a new datagram at maxDatagrams without counting an eviction', () => {
    const { table, stats } = setup({ maxDatagrams: 2 });
    hold(table, fragment('a', 0, false));
    hold(table, fragment('b', 0, false));
    table.discard(table.get('a'), 'frag-overlap');
    hold(table, fragment('c', 0, false));
    expect(table.get('a')).toBeUndefined();
    hold(table, fragment('d', 0, false));
    expect(table.get('b')).toBeUndefined();
    expect(stats.dropped).toEqual({ 'frag-overlap': 1, 'frag-evicted': 1 });
  });

  it('makes room by evicting the oldest live datagrams, passing over tombstones and the fragment\'s own', () => {
    const { table, stats } = setup({ maxBytes: 3 * COST_OF_8 });
    hold(table, fragment('tomb', 0, false));
    table.discard(table.get('tomb'), 'frag-overlap');
    hold(table, fragment('own', 0, false));
    hold(table, fragment('old', 0, false));
    hold(table, fragment('young', 0, false));
    expect(table.bytesHeld).toBe(3 * COST_OF_8);
    hold(table, fragment('own', 8, false));
    expect(table.get('tomb')?.discarded).toBe(true);
    expect(table.get('old')).toBeUndefined();
    expect(table.get('young')).toBeDefined();
    expect(table.get('own')?.fragments).toHaveLength(2);
    expect(stats.dropped).toEqual({ 'frag-overlap': 1, 'frag-evicted': 1 });
  });

  it('charges extraCost with the fragment and refuses what can never fit', () => {
    const { table, stats } = setup({ maxBytes: 100 });
    hold(table, { ...fragment('a', 0, false), extraCost: 20 });
    expect(table.bytesHeld).toBe(COST_OF_8 + 20);
    expect(hold(table, { ...fragment('b', 0, false), extraCost: 100 })).toBeUndefined();
    expect(table.get('b')).toBeUndefined();
    expect(stats.dropped).toEqual({ 'frag-memory': 1 });
  });

  it('drops an exact duplicate alone, and discards the datagram on an overlap or past maxFragments', () => {
    const { table, stats } = setup({ maxFragments: 2 });
    hold(table, fragment('a', 0, false));
    hold(table, fragment('a', 0, false));
    expect(table.get('a')?.discarded).toBe(false);
    hold(table, fragment('a', 0, false, 7));
    expect(table.get('a')?.discarded).toBe(true);
    hold(table, fragment('b', 0, false));
    hold(table, fragment('b', 8, false));
    hold(table, fragment('b', 16, false));
    expect(table.get('b')?.discarded).toBe(true);
    expect(stats.dropped).toEqual({ 'frag-duplicate': 1, 'frag-overlap': 1, 'frag-too-many': 1 });
  });

  it('combines ECN as RFC 3168 §5.3 asks', () => {
    expect(reassembledEcn(1 << 0, 0)).toBe(0);
    expect(reassembledEcn((1 << 2) | (1 << 3), 2)).toBe(3);
    expect(reassembledEcn(1 << 1, 1)).toBe(1);
    expect(reassembledEcn((1 << 0) | (1 << 3), 0)).toBeUndefined();
  });
});
