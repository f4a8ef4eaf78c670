// Evaluation: spec + upstream views -> the stage's fingerprint, its items and its plan. It reads
// (the state database, the store, the workspace's files through the file-state cache) and never
// writes: a collection's manifest is hashed here and written by a run (src/engine/runner.ts).
// `status`, `run --dry-run` and `run` share it.
import { join } from 'node:path';
import { cmdVersion, listFiles } from '../cmd-kind.js';
import { codeHash } from '../code-identity.js';
import type { FileStateCache } from '../file-state.js';
import { fingerprintHash, type StageFingerprint } from '../fingerprint.js';
import { hashJson, hashParts, type Hash } from '../hash.js';
import { planStage, type PlanItem } from '../plan.js';
import type { Project, StageSpec } from '../spec.js';
import type { JsonValue, MapKind, ReduceKind, StageContext, StageKind } from '../stage-api.js';
import { finishCollection, finishTree, sourceInput } from './artifacts.js';
import type { ResultCache } from './results.js';
import type { FingerprintParts, MapView, PlannedView, ReduceView, StageView } from './view.js';

export interface EvaluationDeps {
  project: Project;
  results: ResultCache;
  files: FileStateCache;
  kindOf(spec: StageSpec): Promise<StageKind>;
  context(spec: StageSpec, signal: AbortSignal, fpHash?: Hash): StageContext;
}

/**
 * Called with a stale view before it is returned: true means results were fetched (from a
 * remote cache) into the local result cache, and the stage is planned again.
 */
export type AfterPlan = (view: PlannedView) => Promise<boolean>;

const sameSet = (a: readonly string[], b: Iterable<string>): boolean => {
  const s = new Set(b);
  return s.size === a.length && a.every((x) => s.has(x));
};

/** Hashes a workspace path dep: a file's hash, or a folder's Merkle hash of its files. */
function hashPathDep(d: EvaluationDeps, rel: string): Hash {
  const root = d.project.root;
  const files = listFiles(root, rel);
  const hashes = d.files.hashMany(files.map((f) => join(root, f)));
  if (files.length === 1 && files[0] === rel) return hashes[0]!.hash;
  return hashParts(files.flatMap((f, i) => [f, hashes[i]!.hash]));
}

export async function evaluateStage(
  d: EvaluationDeps,
  spec: StageSpec,
  views: ReadonlyMap<string, StageView>,
  force: boolean,
  signal: AbortSignal,
  afterPlan?: AfterPlan,
): Promise<PlannedView> {
  const kind = await d.kindOf(spec);
  const ctx = d.context(spec, signal);
  const itemDep = kind.type === 'map' && !kind.listItems ? spec.stageDeps[0] : undefined;

  const perf = new Set(kind.perfParams ?? []);
  const params: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(ctx.params)) if (!perf.has(k)) params[k] = v as JsonValue;
  const env = (await kind.env?.(ctx)) ?? {};
  const inputs: Record<string, Hash> = { ...((await kind.inputs?.(ctx)) ?? {}) };
  for (const p of spec.pathDeps) inputs[p] = hashPathDep(d, p);
  const deps: Record<string, Hash> = {};
  const staleDeps: string[] = [];
  for (const dep of spec.stageDeps) {
    const up = views.get(dep)?.finished;
    if (up === undefined) staleDeps.push(dep);
    else if (dep !== itemDep) deps[dep] = up.artifact.root;
  }
  const wholeDepsKnown = spec.stageDeps.every((dep) => dep === itemDep || views.get(dep)?.finished !== undefined);
  const isCmd = spec.cmd !== undefined && !spec.uses;
  const code = !isCmd && kind.code !== undefined ? codeHash(kind.code) : undefined;
  const parts: FingerprintParts = { kind: kind.name, version: isCmd ? cmdVersion(spec) : String(kind.version), ...(code ? { code } : {}), env, inputs };
  const fp: StageFingerprint | undefined = wholeDepsKnown
    ? { ...parts, params, ...(spec.explicitPorts && Object.keys(spec.explicitPorts).length > 0 ? { ports: { ...spec.explicitPorts } } : {}), deps }
    : undefined;
  const id = fp ? { fp, fpHash: fingerprintHash(fp) } : undefined;
  const last = await d.results.last(spec.name);
  const common = { name: spec.name, spec, parts, id, failures: [], pulled: 0, finished: undefined };

  if (kind.type === 'map') {
    const items: PlanItem[] = [];
    let sources: Map<string, JsonValue> | undefined;
    if (kind.listItems) {
      const listed = await kind.listItems(ctx);
      listed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      sources = new Map();
      for (const it of listed) {
        if (sources.has(it.id)) throw new Error(`stage kind '${kind.name}' listed item '${it.id}' twice`);
        sources.set(it.id, it.source);
        items.push({ id: it.id, input: sourceInput(it.source) });
      }
    } else {
      const up = views.get(itemDep!);
      const upItems = up?.type === 'map' ? up.items : up?.finished?.artifact.type === 'collection' ? up.finished.artifact.items : undefined;
      for (const [itemId, out] of upItems ?? []) items.push({ id: itemId, input: out ? hashJson(out.tree) : undefined });
    }
    const planInput = {
      type: 'map' as const,
      fp,
      fpHash: id?.fpHash,
      items,
      staleDeps,
      ...(itemDep ? { itemDep } : {}),
      last,
      lookupItem: d.results.lookupItem,
      quarantined: d.results.quarantined,
      force,
    };
    const view: MapView = {
      ...common,
      type: 'map',
      kind: kind as MapKind,
      plan: planStage(planInput),
      itemDep,
      items: new Map(),
      itemInputs: new Map(items.map((i) => [i.id, i.input])),
      sources,
      unchanged: false,
    };
    if (!force && !view.plan.fresh && afterPlan && (await afterPlan(view))) view.plan = planStage(planInput);
    for (const ip of view.plan.itemPlans) {
      if (ip.cached?.error) view.failures.push(ip.cached.error);
      else view.items.set(ip.id, ip.cached?.output);
    }
    // Unchanged since the last run (same fingerprint, same items, all from the last manifest):
    // reuse its output instead of rehashing every item.
    if (
      last?.output.type === 'collection' &&
      last.fpHash === id?.fpHash &&
      view.plan.fresh &&
      last.items !== undefined &&
      sameSet(items.map((i) => i.id), last.items.keys()) &&
      view.plan.itemPlans.every((ip) => ip.cached !== undefined && last.items!.get(ip.id)?.result === ip.cached)
    ) {
      view.finished = { output: last.output, artifact: { type: 'collection', root: last.output.root, items: view.items as Map<string, never> } };
      view.unchanged = true;
    } else if (view.plan.fresh && [...view.items.values()].every((o) => o !== undefined)) {
      view.finished = finishCollection(spec.name, view.items, view.itemInputs, view.failures);
    }
    return view;
  }

  const planInput = {
    type: 'reduce' as const,
    fp,
    fpHash: id?.fpHash,
    staleDeps,
    last,
    lookupStage: d.results.lookupStage,
    quarantined: d.results.quarantined,
    force,
  };
  const view: ReduceView = { ...common, type: 'reduce', kind: kind as ReduceKind, plan: planStage(planInput), cached: undefined };
  if (!force && !view.plan.fresh && afterPlan && (await afterPlan(view))) view.plan = planStage(planInput);
  if (view.plan.fresh) {
    view.cached = view.plan.cached;
    view.failures = view.plan.cached.errors ?? [];
    view.finished = finishTree(view.plan.cached);
  }
  return view;
}
