/**
 * Multicast source filters, the same for IPv4 and IPv6: IGMPv3 (RFC 3376 §3) and MLDv2
 * (RFC 3810 §4) give each socket a filter (a mode and a source list) per group and merge
 * the filters into one interface state per group by the same rules. Sources are held by a
 * key with value equality (an IPv4 address's 32-bit value, an IPv6 address's key).
 */

export type FilterMode = 'include' | 'exclude';

/** Sources by their key: a set of addresses with value equality. */
export type SourceSet<A, K> = Map<K, A>;

export interface Filter<A, K> {
  mode: FilterMode;
  sources: SourceSet<A, K>;
}

export function toSourceSet<A, K>(sources: A[], key: (address: A) => K): SourceSet<A, K> {
  return new Map(sources.map((s) => [key(s), s]));
}

/**
 * RFC 3376 §3.2, RFC 3810 §4.2: any exclude filter makes the interface exclude the sources
 * every exclude filter excludes, minus the sources an include filter asks for; otherwise
 * include the union.
 */
export function mergeFilters<A, K>(filters: Iterable<Filter<A, K>>): Filter<A, K> {
  let excluded: SourceSet<A, K> | undefined;
  const included: SourceSet<A, K> = new Map();
  for (const f of filters) {
    if (f.mode === 'include') {
      for (const [k, s] of f.sources) included.set(k, s);
    } else {
      excluded = excluded === undefined ? new Map(f.sources) : new Map([...excluded].filter(([k]) => f.sources.has(k)));
    }
  }
  if (excluded === undefined) return { mode: 'include', sources: included };
  for (const k of included.keys()) excluded.delete(k);
  return { mode: 'exclude', sources: excluded };
}

/** RFC 3376 §3.1, RFC 3810 §4.1: include {} is no reception state at all. */
export function hasReceptionState<A, K>(f: Filter<A, K>): boolean {
  return f.mode === 'exclude' || f.sources.size > 0;
}

/** Whether `f` lets in traffic from the source with key `source`. */
export function receivesFrom<A, K>(f: Filter<A, K>, source: K): boolean {
  return f.sources.has(source) === (f.mode === 'include');
}

export function sameFilter<A, K>(a: Filter<A, K>, b: Filter<A, K>): boolean {
  if (a.mode !== b.mode || a.sources.size !== b.sources.size) return false;
  for (const k of a.sources.keys()) if (!b.sources.has(k)) return false;
  return true;
}

/** The sources in exactly one of `a` and `b`: those of `a` first, then those of `b`. */
export function symmetricDifference<A, K>(a: SourceSet<A, K>, b: SourceSet<A, K>): A[] {
  const out: A[] = [];
  for (const [k, s] of a) if (!b.has(k)) out.push(s);
  for (const [k, s] of b) if (!a.has(k)) out.push(s);
  return out;
}
