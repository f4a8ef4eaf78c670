// The planner as a pure function on bare data: no files, no database.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprintHash, itemKey, type StageFingerprint } from '../src/fingerprint.js';
import { planStage, type CachedItem, type LastState, type MapPlanInput, type ReducePlanInput, type StagePlan } from '../src/plan.js';
import { reasonText } from '../src/ui/reasons.js';

const text = (p: StagePlan): string[] => reasonText(p.reasons);

const fp = (over: Partial<StageFingerprint> = {}): StageFingerprint => ({
  kind: 'embed',
  version: '1',
  params: { 'embed.normalize': false },
  env: { onnxruntime: '1.30.0' },
  inputs: {},
  deps: {},
  ...over,
});

const out = (h: string): CachedItem => ({ output: { tree: { [`${h}.npy`]: h.padEnd(16, '0') } } });

function lastOf(f: StageFingerprint, items: Record<string, string>): LastState {
  return {
    fp: f,
    fpHash: fingerprintHash(f),
    items: new Map(Object.entries(items).map(([id, input]) => [id, { input, result: out(id) }])),
  };
}

function mapInput(over: Partial<MapPlanInput> & { items: MapPlanInput['items'] }): MapPlanInput {
  const f = over.fp ?? fp();
  return {
    type: 'map',
    fp: f,
    fpHash: over.fpHash ?? fingerprintHash(f),
    staleDeps: [],
    last: undefined,
    lookupItem: () => undefined,
    quarantined: new Set(),
    force: false,
    ...over,
  };
}

describe('planner: per-item stages', () => {
  it('a stage never run is stale in every item, and says so', () => {
    const p = planStage(mapInput({ items: [{ id: 'a', input: 'ia' }, { id: 'b', input: 'ib' }] }));
    assert.equal(p.fresh, false);
    assert.deepEqual(text(p), ['never run']);
    assert.deepEqual(p.items, { total: 2, stale: 2, cached: 0, failed: 0 });
  });

  it('an unchanged stage is fresh from its last manifest without a single cache lookup', () => {
    const f = fp();
    const p = planStage(
      mapInput({
        fp: f,
        items: [{ id: 'a', input: 'ia' }, { id: 'b', input: 'ib' }],
        last: lastOf(f, { a: 'ia', b: 'ib' }),
        lookupItem: () => assert.fail('no lookup expected'),
      }),
    );
    assert.equal(p.fresh, true);
    assert.deepEqual(text(p), []);
    assert.deepEqual(p.items, { total: 2, stale: 0, cached: 2, failed: 0 });
  });

  it('names a changed param with its old and new value', () => {
    const before = fp({ params: { 'fixlen.length': 256 } });
    const after = fp({ params: { 'fixlen.length': 128 } });
    const p = planStage(mapInput({ fp: after, items: [{ id: 'a', input: 'ia' }], last: lastOf(before, { a: 'ia' }) }));
    assert.equal(p.fresh, false);
    assert.deepEqual(text(p), ['param fixlen.length: 256 -> 128']);
    assert.deepEqual(p.reasons, [{ type: 'param', key: 'fixlen.length', from: 256, to: 128 }], 'reasons are data; text is rendered apart');
  });

  it('says "stage code changed" when the kind version moves, and names env changes', () => {
    const before = fp({ version: '1', env: { onnxruntime: '1.29.0' } });
    const after = fp({ version: '2', env: { onnxruntime: '1.30.0' } });
    const p = planStage(mapInput({ fp: after, items: [{ id: 'a', input: 'ia' }], last: lastOf(before, { a: 'ia' }) }));
    assert.deepEqual(text(p), ['stage code changed', 'onnxruntime 1.29.0 -> 1.30.0']);
  });

  it('counts items added, removed and changed, and recomputes only those', () => {
    const f = fp();
    const p = planStage(
      mapInput({
        fp: f,
        items: [
          { id: 'a', input: 'ia' },
          { id: 'b', input: 'ib2' },
          { id: 'd', input: 'id' },
          { id: 'e', input: 'ie' },
          { id: 'f', input: 'if' },
        ],
        last: lastOf(f, { a: 'ia', b: 'ib', c: 'ic' }),
      }),
    );
    assert.deepEqual(text(p), ['3 items added', '1 item removed', '1 item changed']);
    assert.deepEqual(p.reasons, [{ type: 'items', added: 3, removed: 1, changed: 1 }]);
    assert.deepEqual(
      p.itemPlans?.filter((i) => !i.cached).map((i) => i.id),
      ['b', 'd', 'e', 'f'],
    );
  });

  it('a removed item alone makes the stage stale with nothing to compute', () => {
    const f = fp();
    const p = planStage(mapInput({ fp: f, items: [{ id: 'a', input: 'ia' }], last: lastOf(f, { a: 'ia', b: 'ib' }) }));
    assert.equal(p.fresh, false);
    assert.deepEqual(text(p), ['1 item removed']);
    assert.equal(p.items?.stale, 0);
  });

  it('finds earlier results by item key after a param goes back to an old value', () => {
    const old = fp({ params: { 'fixlen.length': 256 } });
    const cur = fp({ params: { 'fixlen.length': 128 } });
    const key = itemKey(fingerprintHash(old), 'a', 'ia');
    const p = planStage(
      mapInput({
        fp: old,
        items: [{ id: 'a', input: 'ia' }],
        last: lastOf(cur, { a: 'ia' }),
        lookupItem: (k) => (k === key ? out('a') : undefined),
      }),
    );
    assert.equal(p.fresh, true);
    assert.equal(p.items?.cached, 1);
  });

  it('items whose upstream item is stale wait for it', () => {
    const f = fp();
    const p = planStage(
      mapInput({ fp: f, items: [{ id: 'a', input: 'ia' }, { id: 'n', input: undefined }], itemDep: 'frames', last: lastOf(f, { a: 'ia' }) }),
    );
    assert.deepEqual(text(p), ['1 item added', '1 item waits on upstream frames']);
    assert.equal(p.items?.stale, 1);
  });

  it('a cached output that was quarantined is computed again', () => {
    const f = fp();
    const last = lastOf(f, { a: 'ia' });
    const p = planStage(mapInput({ fp: f, items: [{ id: 'a', input: 'ia' }], last, quarantined: new Set(['a'.padEnd(16, '0')]) }));
    assert.equal(p.fresh, false);
    assert.deepEqual(text(p), ['1 cached result missing or quarantined']);
  });

  it('--force recomputes every item', () => {
    const f = fp();
    const p = planStage(mapInput({ fp: f, items: [{ id: 'a', input: 'ia' }], last: lastOf(f, { a: 'ia' }), force: true }));
    assert.equal(p.fresh, false);
    assert.equal(text(p)[0], 'forced (--force)');
    assert.deepEqual(p.reasons[0], { type: 'forced' });
    assert.equal(p.items?.stale, 1);
  });

  it('a remembered item failure is fresh and counted as failed', () => {
    const f = fp();
    const last: LastState = {
      fp: f,
      fpHash: fingerprintHash(f),
      items: new Map([['a', { input: 'ia', result: { error: { item: 'a', message: 'corrupt JPEG' } } }]]),
    };
    const p = planStage(mapInput({ fp: f, items: [{ id: 'a', input: 'ia' }], last }));
    assert.equal(p.fresh, true);
    assert.deepEqual(p.items, { total: 1, stale: 0, cached: 0, failed: 1 });
  });
});

describe('planner: whole-artifact stages', () => {
  const reduce = (over: Partial<ReducePlanInput>): ReducePlanInput => {
    const f = over.fp === undefined && 'fp' in over ? undefined : (over.fp ?? fp({ kind: 'train' }));
    return {
      type: 'reduce',
      fp: f,
      fpHash: f ? fingerprintHash(f) : undefined,
      staleDeps: [],
      last: undefined,
      lookupStage: () => undefined,
      quarantined: new Set(),
      force: false,
      ...over,
    };
  };

  it('is fresh when its fingerprint is in the cache', () => {
    const p = planStage(reduce({ lookupStage: () => ({ tree: { 'model.json': '0'.repeat(16) } }) }));
    assert.equal(p.fresh, true);
    assert.ok(p.cached);
  });

  it('is stale while an upstream stage is, and names it', () => {
    const f = fp({ kind: 'train' });
    const p = planStage(reduce({ fp: undefined, staleDeps: ['fixlen'], last: { fp: f, fpHash: fingerprintHash(f) } }));
    assert.equal(p.fresh, false);
    assert.deepEqual(text(p), ['upstream fixlen is stale']);
  });

  it('says which upstream artifact changed', () => {
    const before = fp({ kind: 'train', deps: { fixlen: 'aaaa', labels: 'bbbb' } });
    const after = fp({ kind: 'train', deps: { fixlen: 'cccc', labels: 'bbbb' } });
    const p = planStage(reduce({ fp: after, last: { fp: before, fpHash: fingerprintHash(before) } }));
    assert.deepEqual(text(p), ['upstream fixlen changed']);
  });
});
