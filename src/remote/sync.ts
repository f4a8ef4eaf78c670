// `pipeline push` and `pipeline pull`: what a run references, sent to or fetched from a remote.
//
// A run references its record (an object named by the run id), each stage's output objects
// (collection manifests and every item's files, reduce trees) and the result-cache entries
// that let another workspace find those outputs by cache key instead of computing them.
// Push sends objects first, then result entries, then the run's index entry, so that whatever
// a reader finds in the remote has its objects there too; an interrupted push resumes, since
// the next one lists what is present and sends the rest. Pull fetches and verifies objects
// before writing the local result rows and run index row that point at them.
import pLimit from 'p-limit';
import type { Engine } from '../engine/index.js';
import { unreachable } from '../errors.js';
import { itemKey } from '../fingerprint.js';
import type { Hash } from '../hash.js';
import type { CachedStage } from '../plan.js';
import { runLookupMessage, runNotFound } from '../run-lookup.js';
import { loadRecord, RunNotFound, type Manifest, type RunRecord, type RunRow } from '../runs.js';
import type { ItemOutput } from '../stage-api.js';
import { RemoteCache, TRANSFER_CONCURRENCY, type RemoteResult, type TransferProgress } from './cache.js';

export interface RunRefs {
  objects: Set<Hash>;
  results: Map<string, RemoteResult>;
}

/** What the run references: objects, and result entries keyed by cache key. */
export async function runRefs(engine: Engine, id: string, record: RunRecord, getStageResult: (key: string) => Promise<CachedStage | undefined>): Promise<RunRefs> {
  const objects = new Set<Hash>([id]);
  const results = new Map<string, RemoteResult>();
  for (const [stage, s] of Object.entries(record.stages)) {
    const out = s.output;
    if (!out || !s.ok) continue;
    if (out.type === 'tree') {
      for (const h of Object.values(out.tree)) objects.add(h);
      const cached: CachedStage = (await getStageResult(s.fpHash)) ?? {
        tree: out.tree,
        ...(out.meta ? { meta: out.meta } : {}),
        ...(out.volatile ? { volatile: out.volatile } : {}),
        ...(s.headline ? { headline: s.headline } : {}),
        ...(s.failures ? { errors: s.failures } : {}),
      };
      results.set(s.fpHash, { stage, item: '', output: cached });
    } else {
      objects.add(out.manifest);
      const m = await engine.store.readJson<Manifest>(out.manifest);
      for (const [item, it] of Object.entries(m.items)) {
        for (const h of Object.values(it.tree)) objects.add(h);
        const output: ItemOutput = it.meta === undefined ? { tree: it.tree } : { tree: it.tree, meta: it.meta };
        results.set(itemKey(s.fpHash, item, it.in), { stage, item, output });
      }
      for (const [item, it] of Object.entries(m.errors ?? {})) results.set(itemKey(s.fpHash, item, it.in), { stage, item, error: it.error });
    }
  }
  return { objects, results };
}

export interface SyncSummary {
  runs: string[];
  objects: { sent?: number; received?: number; present: number };
  results: { sent?: number; received?: number; present: number };
  bytes: number;
  seconds: number;
}

export interface SyncProgress extends TransferProgress {
  phase: 'objects' | 'results' | 'runs';
}

/** Sends what the given runs reference. */
export async function push(engine: Engine, cache: RemoteCache, runIds: readonly string[], onProgress?: (p: SyncProgress) => void): Promise<SyncSummary> {
  const t0 = performance.now();
  const objects = new Set<Hash>();
  const results = new Map<string, RemoteResult>();
  const rows: RunRow[] = [];
  for (const id of runIds) {
    const row = engine.runs.resolve(id);
    rows.push(row);
    const record = await loadRecord(engine.store, row.id);
    const refs = await runRefs(engine, row.id, record, async (key) => engine.cachedStage(key));
    for (const h of refs.objects) objects.add(h);
    for (const [k, v] of refs.results) results.set(k, v);
  }
  const o = await cache.send(objects, (p) => onProgress?.({ phase: 'objects', ...p }));
  const presentKeys = await cache.resultKeys();
  const need = [...results].filter(([k]) => !presentKeys.has(k));
  let sent = 0;
  const limit = pLimit(TRANSFER_CONCURRENCY);
  await Promise.all(
    need.map(([k, v]) =>
      limit(async () => {
        if (await cache.putResult(k, v)) sent++;
        onProgress?.({ phase: 'results', done: sent, total: need.length, bytes: o.bytes });
      }),
    ),
  );
  const presentRuns = await cache.remote.listEntries('runs');
  for (const row of rows) if (!presentRuns.has(row.id)) await cache.remote.putEntry('runs', row.id, row);
  return {
    runs: rows.map((r) => r.id),
    objects: { sent: o.moved, present: o.present },
    results: { sent, present: results.size - sent },
    bytes: o.bytes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The remote's run index entries, newest last. */
async function remoteRuns(cache: RemoteCache): Promise<RunRow[]> {
  const ids = [...(await cache.remote.listEntries('runs'))];
  const limit = pLimit(TRANSFER_CONCURRENCY);
  const rows = await Promise.all(ids.map((id) => limit(async () => (await cache.remote.getEntry('runs', id)) as RunRow | undefined)));
  return rows.filter((r): r is RunRow => r !== undefined).sort((a, b) => a.time - b.time);
}

/** Resolves run ids or prefixes (or "latest") against the remote's runs. */
export async function resolveRemoteRuns(cache: RemoteCache, specs: readonly string[]): Promise<RunRow[]> {
  const rows = await remoteRuns(cache);
  if (rows.length === 0) throw new RunNotFound(`the remote ${cache.remote.url} holds no runs yet: \`pipeline push\` one first`);
  const want = specs.length === 0 ? ['latest'] : specs;
  return want.map((spec) => {
    const p = spec.trim().toLowerCase();
    if (p === 'latest' || p === 'last' || p === 'head') return rows[rows.length - 1]!;
    const hits = rows.filter((r) => r.id.startsWith(p));
    if (hits.length === 0) throw new RunNotFound(`no run in the remote ${cache.remote.url} matches '${spec}'`);
    if (hits.length > 1) throw new RunNotFound(`'${spec}' is ambiguous in the remote ${cache.remote.url}: ${hits.slice(0, 8).map((r) => r.id).join(', ')}`);
    return hits[0]!;
  });
}

/** Fetches what the given remote runs reference, and records them locally (results, run index). */
export async function pull(engine: Engine, cache: RemoteCache, rows: readonly RunRow[], onProgress?: (p: SyncProgress) => void): Promise<SyncSummary> {
  const t0 = performance.now();
  let received = 0;
  let present = 0;
  let bytes = 0;
  let resultsReceived = 0;
  let resultsPresent = 0;
  const add = (c: { moved: number; present: number; bytes: number }): void => {
    received += c.moved;
    present += c.present;
    bytes += c.bytes;
  };
  for (const row of rows) {
    add(await cache.fetch([row.id]));
    const record = await loadRecord(engine.store, row.id);
    // Manifests first: they name the items' objects.
    const manifests = Object.values(record.stages).flatMap((s) => (s.ok && s.output?.type === 'collection' ? [s.output.manifest] : []));
    add(await cache.fetch(manifests));
    const refs = await runRefs(engine, row.id, record, async (key) => {
      const local = engine.cachedStage(key);
      if (local) return local;
      const entry = await cache.getResult(key);
      return entry?.output as CachedStage | undefined;
    });
    add(await cache.fetch(refs.objects, (p) => onProgress?.({ phase: 'objects', ...p, bytes: bytes + p.bytes })));
    for (const [key, r] of refs.results) {
      if (engine.hasResult(key)) resultsPresent++;
      else {
        engine.storeResult(key, r.stage, r.item, r.output, r.error);
        resultsReceived++;
      }
    }
    engine.flushResults();
    engine.runs.addIfMissing(row);
  }
  return {
    runs: rows.map((r) => r.id),
    objects: { received, present },
    results: { received: resultsReceived, present: resultsPresent },
    bytes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * A run id for commands that take one (checkout, reproduce): the local run index first, then,
 * where a remote is configured, the remote's runs (pulled on the way).
 */
export async function resolveRunAnywhere(engine: Engine, spec: string, cache: RemoteCache | undefined): Promise<RunRow> {
  const local = engine.runs.find(spec);
  if (local.ok) return local.value;
  switch (local.error.kind) {
    case 'no-runs':
    case 'no-match':
      break; // the remote may hold it
    case 'not-a-run-id':
    case 'ambiguous':
      // No remote makes these a run: a remote's runs would only add candidates.
      throw runNotFound(local.error);
    default:
      unreachable(local.error);
  }
  if (cache === undefined) throw runNotFound(local.error);
  const said = runLookupMessage(local.error);
  const [row] = await resolveRemoteRuns(cache, [spec]).catch((re: unknown) => {
    if (re instanceof RunNotFound) throw new RunNotFound(`${said}, and ${re.message}`);
    throw re;
  });
  await pull(engine, cache, [row!]);
  return engine.runs.resolve(row!.id);
}
