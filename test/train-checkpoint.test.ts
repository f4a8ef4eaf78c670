// Training checkpoints: round trip, and a checkpoint that is not ours or is damaged is ignored.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Checkpoint, readCheckpoint, removeCheckpoint, writeCheckpoint } from '../stages/models/checkpoint.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

describe('training checkpoints', () => {
  const temp = new TempFolders();
  after(() => temp.cleanup());
  const c: Checkpoint = {
    key: 'k1',
    epoch: 3,
    extra: { history: [{ epoch: 1 }], bestEpoch: 1 },
    state: {
      weights: [
        { name: 'a', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        { name: 'b', shape: [1], data: Float32Array.from([-0.5]) },
      ],
      optimizer: [{ name: 'iter', shape: [], data: Float32Array.from([7]) }],
      rng: { c: 1, s0: 0.25, s1: 0.5, s2: 0.75 },
    },
    best: [{ name: 'a', shape: [2, 3], data: Float32Array.from([6, 5, 4, 3, 2, 1]) }],
  };

  it('round-trips everything, arrays bit for bit', () => {
    const p = join(temp.dir('ckpt-'), 'checkpoint.bin');
    writeCheckpoint(p, c);
    assert.deepEqual(readCheckpoint(p, 'k1'), c);
    assert.equal(readCheckpoint(p, 'other'), undefined);
    removeCheckpoint(p);
    assert.equal(readCheckpoint(p, 'k1'), undefined);
  });

  it('ignores a damaged or foreign file instead of failing the run', () => {
    const p = join(temp.dir('ckpt-'), 'checkpoint.bin');
    writeCheckpoint(p, c);
    const bytes = readFileSync(p);
    writeFileSync(p, bytes.subarray(0, bytes.length - 8)); // arrays cut short
    assert.equal(readCheckpoint(p, 'k1'), undefined);
    writeFileSync(p, bytes.subarray(0, 30));
    assert.equal(readCheckpoint(p, 'k1'), undefined);
    writeFileSync(p, 'not a checkpoint');
    assert.equal(readCheckpoint(p, 'k1'), undefined);
  });
});
