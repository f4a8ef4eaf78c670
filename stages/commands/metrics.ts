// `pipeline metrics [RUN]`, `pipeline metrics diff A B` and `pipeline evaluate --model X`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { listFiles } from '../../src/cmd-kind.js';
import { join, relative, resolve } from 'node:path';
import { asMetricsJson, diffMetrics, formatMetricsTable } from '../report/cli.js';
import { Engine } from '../../src/engine/index.js';
import { UserError } from '../../src/errors.js';
import { hashJson } from '../../src/hash.js';
import { acquireLock } from '../../src/lock.js';
import { Checkout } from '../../src/outputs.js';
import { Params, diffFlat, type Conf } from '../../src/params.js';
import { loadRecord, type RunRecord } from '../../src/runs.js';
import type { Project, StageSpec } from '../../src/spec.js';
import type { Tree, TreeArtifact } from '../../src/stage-api.js';
import { openProject, type ProjectOptions } from '../../src/commands/common.js';
import { interruptSignal, presenterFor } from '../../src/commands/run.js';
import { openEngine, type WorkspaceOptions } from '../../src/commands/runs.js';
import { kindInfo, kindNames } from '../../src/registry.js';

function stageUsing(record: RunRecord, kind: string): string | undefined {
  return Object.entries(record.stages).find(([, s]) => s.uses === kind && s.output)?.[0];
}

async function metricsOf(engine: Engine, run: string): Promise<{ id: string; record: RunRecord; metrics: ReturnType<typeof asMetricsJson> }> {
  const row = engine.runs.resolve(run);
  const record = await loadRecord(engine.store, row.id);
  const stage = stageUsing(record, 'metrics');
  const out = stage ? record.stages[stage]?.output : undefined;
  const hash = out?.type === 'tree' ? out.tree['metrics.json'] : undefined;
  if (!hash) throw new UserError(`run ${row.id} has no metrics (its targets were ${record.targets.join(', ')})`, 'run the metrics stage: pipeline run metrics');
  return { id: row.id, record, metrics: asMetricsJson(await engine.store.readJson(hash), `metrics.json of run ${row.id}`) };
}

export async function metricsCommand(run: string, opts: WorkspaceOptions): Promise<number> {
  const engine = openEngine(opts);
  try {
    const { metrics } = await metricsOf(engine, run);
    process.stdout.write(opts.json ? `${JSON.stringify(metrics)}\n` : `${formatMetricsTable(metrics)}\n`);
    return 0;
  } finally {
    engine.close();
  }
}

function flat(conf: Conf): Record<string, unknown> {
  const p = new Params(conf);
  return Object.fromEntries(p.allKeys().map((k) => [k, p.get(k)]));
}

export async function metricsDiffCommand(a: string, b: string, opts: WorkspaceOptions): Promise<number> {
  const engine = openEngine(opts);
  try {
    const A = await metricsOf(engine, a);
    const B = await metricsOf(engine, b);
    const params = diffFlat(flat(A.record.params), flat(B.record.params));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ a: A.id, b: B.id, params, a_metrics: A.metrics, b_metrics: B.metrics })}\n`);
      return 0;
    }
    const text = diffMetrics(A.metrics, B.metrics, { a: A.id.slice(0, 8), b: B.id.slice(0, 8) });
    const lines = [text, '', params.length === 0 ? 'params: the same in both runs' : `params that differ (${A.id.slice(0, 8)} -> ${B.id.slice(0, 8)}):`];
    for (const p of params) lines.push(`  ${p}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    engine.close();
  }
}

/** The model to score: a run's train output, or a folder laid out like outputs/train (or its model/ folder). */
async function modelArtifact(engine: Engine, project: Project, model: string): Promise<{ artifact: TreeArtifact; label: string }> {
  const path = resolve(process.cwd(), model);
  if (existsSync(path) && statSync(path).isDirectory()) {
    const prefix = existsSync(join(path, 'model', 'model.json')) ? '' : existsSync(join(path, 'model.json')) ? 'model/' : undefined;
    if (prefix === undefined) {
      throw new UserError(`--model ${model}: no model.json in that folder or in its model/ folder`, 'point --model at a run id, or at outputs/train (or a copy of it)');
    }
    const tree: Tree = {};
    for (const rel of listFiles(path, '.')) {
      // A checkout's temporary files (a staging folder since outputs are copies) are not the model's.
      if (rel.endsWith('.pipeline-tmp') || rel.split('/').includes('.pipeline-tmp')) continue;
      tree[prefix + rel] = engine.store.putSync(readFileSync(join(path, rel)));
    }
    return { artifact: { type: 'tree', root: hashJson(tree), tree }, label: relative(project.root, path) || path };
  }
  if (!/^[0-9a-f]{1,16}$/i.test(model) && model !== 'latest') {
    throw new UserError(`--model ${model}: neither a folder nor a run id`, 'give a run id (see pipeline runs) or a folder such as outputs/train');
  }
  const row = engine.runs.resolve(model);
  const record = await loadRecord(engine.store, row.id);
  const stage = Object.entries(record.stages).find(([, s]) => s.uses !== undefined && s.output && kindInfo(s.uses)?.provides?.includes('model'))?.[0];
  const out = stage ? record.stages[stage]?.output : undefined;
  if (out?.type !== 'tree') throw new UserError(`run ${row.id} trained no model`, 'pick a run whose targets include train (pipeline runs)');
  return { artifact: { type: 'tree', root: out.root, tree: out.tree, ...(out.meta ? { meta: out.meta } : {}) }, label: `run ${row.id}` };
}

/** Sets a dotted param in a conf tree (creating sections on the way). */
function setParam(tree: Conf, key: string, value: string): void {
  const parts = key.split('.');
  let cur = tree;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Conf;
  }
  cur[parts[parts.length - 1]!] = value;
}

export async function evaluateCommand(opts: ProjectOptions & { model: string; split?: string; json?: boolean }): Promise<number> {
  const base = openProject(opts);
  // The stage to rerun is the one whose kind declares itself an evaluator (src/registry.ts);
  // the model it scores is the stage pipeline.yaml binds to its port of what it scores.
  const evaluators = kindNames().filter((k) => kindInfo(k)?.evaluator);
  const metricsSpec = [...base.stages.values()].find((s) => s.uses !== undefined && kindInfo(s.uses)?.evaluator !== undefined);
  if (!metricsSpec) throw new UserError(`pipeline.yaml has no stage that uses ${evaluators.join(' or ')}`, `add the ${evaluators[0] ?? 'evaluating'} stage (see the default pipeline.yaml)`);
  const evaluator = kindInfo(metricsSpec.uses!)!.evaluator!;
  const providers = kindNames().filter((k) => kindInfo(k)?.provides?.includes(evaluator.scores));
  const port = Object.entries(kindInfo(metricsSpec.uses!)!.ports ?? {}).find(([, p]) => p.contract === evaluator.scores)?.[0];
  const trainDep = port === undefined ? undefined : metricsSpec.ports[port];
  if (!trainDep) throw new UserError(`stage ${metricsSpec.name} does not depend on a ${providers.join(' or ')} stage`, `declare the ${providers[0] ?? evaluator.scores} stage in its deps`);

  // The evaluation is a stage of its own, so its results are cached per model, split and data
  // without touching the metrics stage's state.
  const tree = structuredClone(base.params.tree) as Conf;
  if (opts.split) setParam(tree, evaluator.splitParam, opts.split);
  const evalSpec: StageSpec = { ...metricsSpec, name: 'evaluate', outs: [join('outputs', 'evaluate')] };
  const stages = new Map(base.stages);
  stages.set('evaluate', evalSpec);
  const project: Project = { ...base, params: new Params(tree), stages, order: [...base.order, 'evaluate'] };

  const presenter = await presenterFor(opts.json);
  const interrupt = interruptSignal((s) => process.stderr.write(`\n${s}\n`));
  const lock = await acquireLock(join(project.root, 'cache'), {
    wait: true,
    signal: interrupt.signal,
    onWait: (h) => process.stderr.write(`waiting for another pipeline run to finish (${h})\n`),
  });
  const engine = new Engine(project, { listener: (e) => presenter.listener(e) });
  try {
    const { artifact, label } = await modelArtifact(engine, project, opts.model);
    const result = await engine.run({ targets: ['evaluate'], detached: true, substitute: { [trainDep]: artifact }, signal: interrupt.signal });
    if (!opts.json) await presenter.finish({ ...result, notes: [] });
    const out = result.record?.stages.evaluate?.output;
    if (!result.ok || out?.type !== 'tree') return result.interrupted ? 130 : 1;
    const checkout = new Checkout(engine.store, join(engine.cacheDir, 'checkout.json'), project.root);
    checkout.write(join(project.root, 'outputs', 'evaluate'), out.root, out.tree, { link: true });
    checkout.save();
    const metrics = asMetricsJson(await engine.store.readJson(out.tree['metrics.json']!), 'metrics.json');
    if (opts.json) process.stdout.write(`${JSON.stringify(metrics)}\n`);
    else process.stdout.write(`\nmodel: ${label}\n${formatMetricsTable(metrics)}\nreport: outputs/evaluate/metrics.md\n`);
    return 0;
  } finally {
    engine.close();
    lock.release();
    interrupt.dispose();
  }
}
