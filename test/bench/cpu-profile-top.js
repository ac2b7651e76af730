'use strict';
/**
 * The functions a V8 `.cpuprofile` (from `node --cpu-prof`) spent the most self time in:
 * each sample's time goes to the function on top of the stack then, summed per function
 * (name, file and line), so a function reached along many call paths counts once.
 *   node cpu-profile-top.js FILE.cpuprofile [N]
 */
const fs = require('node:fs');
const path = require('node:path');

/**
 * @typedef {{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }} CpuProfile
 * @typedef {{ name: string; where: string; selfMs: number; share: number }} SelfTime
 */

/** Paths under the repository are shown relative to it, the rest by file name. */
const REPO = path.join(__dirname, '..', '..');

/** @param {string} url */
function shortPlace(url) {
  if (!url) return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return file.startsWith(REPO + path.sep) ? path.relative(REPO, file) : file.startsWith('node:') ? file : path.basename(file);
}

/**
 * @param {CpuProfile} profile
 * @param {number} n
 * @returns {{ totalMs: number; idleMs: number; top: SelfTime[] }} shares are of the busy (non-idle) time
 */
function topSelfTime(profile, n) {
  /** @type {Map<number, ProfileNode>} */
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  /** @type {Map<string, SelfTime>} */
  const byFunction = new Map();
  let totalUs = 0;
  let idleUs = 0;
  // timeDeltas[i] is the time before sample i; the time a sample stands for follows it,
  // but over thousands of samples the two differ by one interval.
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = nodes.get(id);
    if (!node) return;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleUs += us;
    const name = functionName || '(anonymous)';
    // lineNumber is 0-based in the profile.
    const where = url ? `${shortPlace(url)}:${lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, selfMs: 0, share: 0 };
    entry.selfMs += us / 1e3;
    byFunction.set(key, entry);
  });
  const busyMs = (totalUs - idleUs) / 1e3;
  const top = [...byFunction.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, n)
    .map((e) => ({ ...e, share: busyMs > 0 ? e.selfMs / busyMs : 0 }));
  return { totalMs: totalUs / 1e3, idleMs: idleUs / 1e3, top };
}

/**
 * The table `npm run bench -- --profile DIR` prints.
 * @param {string} file
 * @param {number} n
 * @returns {string[]}
 */
function formatTop(file, n) {
  const { totalMs, idleMs, top } = topSelfTime(JSON.parse(fs.readFileSync(file, 'utf8')), n);
  const lines = [`${path.basename(file)}: ${(totalMs / 1e3).toFixed(2)} s sampled, ${((totalMs - idleMs) / 1e3).toFixed(2)} s busy (idle ${(idleMs / 1e3).toFixed(2)} s)`];
  lines.push(`${'self ms'.padStart(9)}${'busy %'.padStart(8)}  function  (where)`);
  for (const e of top) lines.push(`${e.selfMs.toFixed(0).padStart(9)}${(e.share * 100).toFixed(1).padStart(8)}  ${e.name}  ${e.where}`);
  return lines;
}

module.exports = { topSelfTime, formatTop };

if (require.main === module) {
  const [file, count] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node cpu-profile-top.js FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  process.stdout.write(formatTop(file, count ? Number(count) : 10).join('\n') + '\n');
}
