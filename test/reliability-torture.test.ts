// The short version of bench/torture.ts: kill -9 at uniform random moments of a small demo run
// (16 movies, 3 epochs, small features so that a run takes seconds; two kills here, a hundred
// in the bench), each followed by a resumed run, and once each during checkout, gc, push and
// pull, each followed by the same command: every check of the bench must pass
// (docs/RELIABILITY.md lists them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { torture } from '../fixtures-lib/torture.js';

describe('crash torture (short)', () => {
  it('kill -9 during run, checkout, gc, push and pull: resumed results equal an uninterrupted run, nothing corrupt or left behind', async () => {
    const lines: string[] = [];
    const report = await torture({
      kills: 2,
      opKills: 1,
      ops: ['run', 'checkout', 'gc', 'push', 'pull'],
      seed: 'npm-test',
      params: [
        'dataset.movies=16',
        'train.epochs=3',
        'fixlen.length=16',
        'train.hidden=8',
        'frames.images_per_shot=1',
        'frames.max_frames=4',
      ],
      // A killed process's files in cache/tmp are removed at the start of the next run (at once,
      // its pid being gone) or by gc; a killed checkout, push or pull is resumed by the same
      // command, which leaves them there until then.
      tmpGraceMs: 60_000,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(report.failures, [], lines.join('\n'));
    assert.equal(report.kills.length, 6);
    assert.deepEqual([...new Set(report.kills.map((k) => k.op))], ['run', 'checkout', 'gc', 'push', 'pull']);
  });
});
