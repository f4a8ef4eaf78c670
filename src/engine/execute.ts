// What map and reduce execution share: the engine's parts they use, the checks on what a kind
// reports, and the summary of a failed stage.
import type { Executor } from '../executor.js';
import type { Listener, StageSummary } from '../events.js';
import { ItemError } from '../errors.js';
import type { Hash } from '../hash.js';
import type { Project, StageSpec } from '../spec.js';
import type { Artifact, StageContext, Tree } from '../stage-api.js';
import type { LocalStore } from '../store.js';
import { describeError } from '../ui/errors.js';
import type { ResultCache } from './results.js';
import type { PlannedView, StageView } from './view.js';

export interface ExecutionDeps {
  project: Project;
  results: ResultCache;
  store: LocalStore;
  executor: Executor;
  listener: Listener;
  reduceOnWorkers: boolean;
  context(spec: StageSpec, signal: AbortSignal, fpHash?: Hash): StageContext;
}

/** Every object a stage reports must be in the store before the engine records it. */
export function checkTree(store: LocalStore, stage: string, tree: Tree): void {
  for (const [p, h] of Object.entries(tree)) {
    if (typeof h !== 'string' || !store.exists(h)) {
      throw new Error(`stage ${stage} reported output '${p}' as object ${String(h)}, which is not in the store`);
    }
  }
}

/** Whole-artifact inputs by stage name (the item dependency of a map stage left out). */
export function inputsOf(spec: StageSpec, views: ReadonlyMap<string, StageView>, except?: string): Record<string, Artifact> {
  const inputs: Record<string, Artifact> = {};
  for (const d of spec.stageDeps) {
    if (d === except) continue;
    const up = views.get(d)?.finished;
    if (up === undefined) throw new Error(`internal: upstream ${d} of ${spec.name} is not finished`);
    inputs[d] = up.artifact;
  }
  return inputs;
}

/** The kind's ports (pipeline.yaml `inputs:`, or the dep they were resolved to) -> artifacts. */
export function portsOf(spec: StageSpec, views: ReadonlyMap<string, StageView>): Record<string, Artifact> {
  const ports: Record<string, Artifact> = {};
  for (const [port, stage] of Object.entries(spec.ports ?? {})) {
    const up = views.get(stage)?.finished;
    if (up !== undefined) ports[port] = up.artifact;
  }
  return ports;
}

/** Writes a collection's manifest (hashed by evaluation) before anything refers to it. */
export async function writeManifest(store: LocalStore, view: PlannedView): Promise<void> {
  const f = view.finished;
  if (f?.manifest === undefined) return;
  const h = await store.put(f.manifest);
  if (f.output.type !== 'collection' || h !== f.output.manifest) throw new Error(`internal: manifest of ${view.name} hashed ${f.output.type === 'collection' ? f.output.manifest : '?'} at evaluation, ${h} when written`);
  delete f.manifest;
}

/** A summary's `itemNoun`, said only when the kind's noun is not the default "item". */
export const nounOf = (noun: string): { itemNoun?: string } => (noun === 'item' ? {} : { itemNoun: noun });

export function failedSummary(results: ResultCache, name: string, e: unknown, t0: number, noun = 'item'): StageSummary {
  results.flush();
  const failures = e instanceof ItemError ? [e.toJSON()] : undefined;
  return {
    name,
    state: 'failed',
    seconds: (performance.now() - t0) / 1000,
    error: describeError(e, noun),
    ...nounOf(noun),
    ...(failures ? { failures } : {}),
  };
}
