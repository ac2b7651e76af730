/**
 * What the conformance tables (test/shim/*-conformance.test.ts) share: one run of a
 * scenario on Node's module and one on the shim are compared as logs of text, so errors
 * are written out whole, and waits poll with a bound.
 */

/** An error as the log shows it: name, class, message and every own property but the stack. */
export function describeError(e: Error & Record<string, unknown>): string {
  const own = Object.keys(e)
    .filter((k) => k !== 'stack')
    .map((k) => `${k}=${typeof e[k] === 'object' && e[k] !== null ? JSON.stringify(e[k]) : String(e[k])}`)
    .join(' ');
  return `${e.name}[${e.constructor.name}] "${e.message}" ${own}`;
}

/** Polls `pred` every 5 ms for at most `ms`, then lets events already due settle for `settleMs`. */
export async function waitUntil(pred: () => boolean, ms: number, settleMs: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, settleMs));
}
