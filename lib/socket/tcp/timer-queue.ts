/**
 * Which connections have a timer due: a binary min-heap of (deadline, connection) entries,
 * so a poll touches only the connections whose time has come and `pollAt()` is the top, not
 * a scan of every connection (10,000 idle ones, or as many in TIME-WAIT after a burst of
 * short connections, would otherwise cost every poll as much as they number).
 *
 * Entries are never updated in place. A connection's timers (timers.ts) push an entry when
 * their earliest deadline moves earlier than the one queued, and remember that one as
 * `queuedAt`; an entry whose deadline is not its connection's `queuedAt` is stale and is
 * skipped when it surfaces. The one rule that keeps this right: every deadline a connection
 * has is at or after its `queuedAt`. A queued deadline may be earlier than the real one (the
 * timer was cleared or moved later): the connection is then looked at early, finds nothing
 * due, and is queued again at its real deadline.
 */

/** The deadline a connection has in the queue, and how it queues its real one again. */
export interface QueuedDeadline {
  queuedAt: number | undefined;
  /** Queues the earliest deadline now set, unless an earlier one is already queued. */
  requeue(): void;
}

/** What the queue orders: something with timers that remembers its queued deadline. */
export interface TimerQueueItem {
  readonly deadline: QueuedDeadline;
}

const NONE_DUE: readonly never[] = Object.freeze([]);

export class TimerQueue<T extends TimerQueueItem> {
  private ats: number[] = [];
  private items: T[] = [];
  /** Items released since the last compaction whose entries may still be queued. */
  private released = 0;

  get size(): number {
    return this.ats.length;
  }

  push(at: number, item: T): void {
    const ats = this.ats;
    const items = this.items;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ats[parent] <= at) break;
      ats[i] = ats[parent];
      items[i] = items[parent];
      i = parent;
    }
    ats[i] = at;
    items[i] = item;
  }

  /** The earliest live deadline (stale entries on top are dropped on the way). */
  peek(): number | undefined {
    this.dropStale();
    return this.ats.length > 0 ? this.ats[0] : undefined;
  }

  /** Takes every item due by `now`, each once, and clears their `queuedAt`: the caller queues them again. */
  takeDue(now: number): readonly T[] {
    // Most polls find nothing due: they allocate nothing.
    if (this.peek() === undefined || this.ats[0] > now) return NONE_DUE;
    const due: T[] = [];
    for (;;) {
      this.dropStale();
      if (this.ats.length === 0 || this.ats[0] > now) return due;
      const item = this.items[0];
      item.deadline.queuedAt = undefined;
      this.pop();
      due.push(item);
    }
  }

  /**
   * An item the owner is done with: its entries go stale now and leave at the next
   * compaction, so the queue does not keep it (and what it holds) alive until they surface.
   */
  release(item: T): void {
    if (item.deadline.queuedAt === undefined) return;
    item.deadline.queuedAt = undefined;
    this.released++;
  }

  /**
   * Rebuilds from the live entries when stale ones outnumber them by far, or when released
   * items are many beside the queue's size; `live` is how many items are in use.
   */
  compact(live: number): void {
    if (this.ats.length <= 4 * live + 1024 && this.released <= 8 + (this.ats.length >> 3)) return;
    this.released = 0;
    const ats: number[] = [];
    const items: T[] = [];
    for (let i = 0; i < this.ats.length; i++) {
      if (this.items[i].deadline.queuedAt !== this.ats[i]) continue;
      ats.push(this.ats[i]);
      items.push(this.items[i]);
    }
    this.ats = [];
    this.items = [];
    for (let i = 0; i < ats.length; i++) this.push(ats[i], items[i]);
  }

  private dropStale(): void {
    while (this.ats.length > 0 && this.items[0].deadline.queuedAt !== this.ats[0]) this.pop();
  }

  private pop(): void {
    const ats = this.ats;
    const items = this.items;
    const lastAt = ats.pop() as number;
    const lastItem = items.pop() as T;
    const n = ats.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && ats[right] < ats[left] ? right : left;
      if (ats[child] >= lastAt) break;
      ats[i] = ats[child];
      items[i] = items[child];
      i = child;
    }
    ats[i] = lastAt;
    items[i] = lastItem;
  }
}
