// The progress line of `push` and `pull`: objects, bytes, rate and ETA, redrawn in place on a
// terminal (at most 10 times a second) and silent otherwise. A line this small needs no
// progress-bar library; the run's listr2 UI is made for task lists, not one counter.
import { formatBytes, formatSeconds } from '../commands/common.js';
import type { SyncProgress } from '../remote/sync.js';

export function transferProgress(verb: string, out: NodeJS.WriteStream = process.stderr): { update: (p: SyncProgress) => void; done: () => void } {
  const tty = out.isTTY === true && !process.env.CI;
  const t0 = Date.now();
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      const secs = Math.max(0.001, (now - t0) / 1000);
      const rate = p.done / secs;
      const eta = rate > 0 ? (p.total - p.done) / rate : 0;
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
      const bar = '#'.repeat(Math.round(pct / 5)).padEnd(20, '.');
      out.write(`\r${verb} ${p.phase} [${bar}] ${p.done}/${p.total} ${formatBytes(p.bytes)} ${rate.toFixed(0)}/s ETA ${formatSeconds(eta)}\x1b[K`);
      drawn = true;
    },
    done() {
      if (drawn) out.write('\r\x1b[K');
    },
  };
}
