// `pipeline plots diff A B [C...] [--to DIR] [--genre G] [--stage S]`: the runs' per-genre AP
// bars, one genre's precision-recall curves and their training curves overlaid, as SVG and PNG
// (stages/report/plots-diff.ts draws them).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { didYouMean } from '../../src/diagnostics.js';
import { UserError } from '../../src/errors.js';
import { decodeNpy } from '../../src/npy.js';
import { loadRecord, type RunRecord } from '../../src/runs.js';
import type { History, MetricsJson } from '../report/metrics-json.js';
import { openEngine, type WorkspaceOptions } from '../../src/commands/runs.js';

export interface PlotsDiffOptions extends WorkspaceOptions {
  to?: string;
  genre?: string;
  stage?: string;
}

/** The metrics stage of a record to plot: the one asked for, else `metrics`, else the first. */
function pickStage(record: RunRecord, run: string, asked: string | undefined): string {
  const names = Object.entries(record.stages)
    .filter(([, s]) => s.uses === 'metrics' && s.ok && s.output?.type === 'tree' && s.output.tree['metrics.json'] !== undefined)
    .map(([n]) => n);
  if (asked !== undefined) {
    if (names.includes(asked)) return asked;
    const hint = didYouMean(asked, names);
    throw new UserError(`run ${run} has no metrics stage '${asked}'${hint ? ` (did you mean '${hint}'?)` : ''}`, names.length ? `its metrics stages: ${names.join(', ')}` : 'pick runs that ran a metrics stage');
  }
  if (names.length === 0) throw new UserError(`run ${run} has no metrics stage output to plot`, 'pick runs that ran a metrics stage (see `pipeline runs --table`)');
  return names.includes('metrics') ? 'metrics' : names[0]!;
}

export async function plotsDiffCommand(runs: readonly string[], opts: PlotsDiffOptions): Promise<number> {
  if (runs.length < 2) throw new UserError('plots diff needs at least two runs', 'e.g. pipeline plots diff latest 3f2a');
  const { apBarsDiffSvg, prCurveDiffSvg, trainingDiffSvg } = await import('../report/plots-diff.js');
  const { flattenParams } = await import('../../src/experiments/table.js');
  const { svgToPng } = await import('../report/render.js');
  const engine = openEngine(opts);
  try {
    const rows = runs.map((r) => engine.runs.resolve(r));
    const loaded = await Promise.all(
      rows.map(async (row) => {
        const record = await loadRecord(engine.store, row.id);
        const stage = pickStage(record, row.id, opts.stage);
        const s = record.stages[stage]!;
        const tree = s.output!.type === 'tree' ? s.output!.tree : {};
        const metrics = await engine.store.readJson<MetricsJson>(tree['metrics.json']!);
        const npy = async (p: string): Promise<ReturnType<typeof decodeNpy> | undefined> => (tree[p] ? decodeNpy(await engine.store.read(tree[p]!), `${stage} ${p}`) : undefined);
        const predictions = await npy('predictions.npy');
        const targets = await npy('targets.npy');
        // The training history of the train stage this metrics stage scored.
        const trainName = s.deps.find((d) => record.stages[d]?.uses === 'train');
        const trainOut = trainName ? record.stages[trainName]!.output : undefined;
        const historyHash = trainOut?.type === 'tree' ? trainOut.tree['history.json'] : undefined;
        const history = historyHash ? await engine.store.readJson<History>(historyHash).catch(() => null) : null;
        return { row, record, stage, metrics, predictions, targets, history, params: { ...flattenParams(record.params), ...(s.set ?? {}) } };
      }),
    );
    // Labels: the run id, and the params that differ among these runs.
    const keys = [...new Set(loaded.flatMap((l) => Object.keys(l.params)))].filter((k) => new Set(loaded.map((l) => JSON.stringify(l.params[k]))).size > 1);
    const label = (l: (typeof loaded)[number]): string => {
      const diff = keys.map((k) => `${k}=${typeof l.params[k] === 'string' ? l.params[k] : JSON.stringify(l.params[k])}`).join(' ');
      return `${l.row.id.slice(0, 8)}${l.stage !== 'metrics' ? ` ${l.stage}` : ''}${diff ? ` ${diff}` : ''}`;
    };
    const diffRuns = loaded.map((l) => ({
      label: label(l),
      metrics: l.metrics,
      ...(l.predictions && l.targets ? { predictions: l.predictions.data as Float32Array, targets: Int8Array.from(l.targets.data as ArrayLike<number>) } : {}),
      history: l.history,
    }));
    const genres = loaded[0]!.metrics.genres;
    let genre = opts.genre;
    if (genre === undefined) {
      // The genre with the most positive movies in the first run: the steadiest curve.
      genre = [...loaded[0]!.metrics.per_genre].sort((a, b) => b.support - a.support || (a.genre < b.genre ? -1 : 1))[0]?.genre ?? genres[0]!;
    } else if (!genres.includes(genre)) {
      const hint = didYouMean(genre, genres);
      throw new UserError(`no genre '${genre}' in run ${loaded[0]!.row.id}${hint ? ` (did you mean '${hint}'?)` : ''}`, `genres: ${genres.join(', ')}`);
    }
    const charts: Array<{ name: string; svg: string }> = [
      { name: 'ap-bars', svg: apBarsDiffSvg(diffRuns) },
      { name: `pr-${genre.replace(/[^A-Za-z0-9_-]+/g, '_')}`, svg: prCurveDiffSvg(genre, diffRuns) },
    ];
    const training = trainingDiffSvg(diffRuns);
    if (training !== null) charts.push({ name: 'training', svg: training });
    const to = resolve(process.cwd(), opts.to ?? join(engine.project.root, 'outputs', 'plots-diff'));
    mkdirSync(to, { recursive: true });
    const files: string[] = [];
    for (const c of charts) {
      for (const [ext, data] of [['svg', c.svg], ['png', await svgToPng(c.svg, 2)]] as const) {
        const file = join(to, `${c.name}.${ext}`);
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, file);
        files.push(file);
      }
    }
    const shown = files.map((f) => relative(process.cwd(), f) || f);
    if (opts.json) process.stdout.write(`${JSON.stringify({ runs: loaded.map((l) => l.row.id), genre, to, files })}\n`);
    else {
      process.stdout.write(`${loaded.length} runs: ${diffRuns.map((r) => r.label).join(' | ')}\n`);
      for (const f of shown) process.stdout.write(`  ${f}\n`);
    }
    return 0;
  } finally {
    engine.close();
  }
}
