// Stage kind `labels`: one-hot genres for the movies that have frames, and train/val/test splits.
//
// Genres come from the demo generator, MovieNet's meta files or the videos' labels file. The
// output holds the reference project's two auxiliary files (ids.json, labels.json) plus the
// vocabulary, the split and per-split genre counts (types in data/labels-files.ts). Movies left
// out (no meta, no known genre, unreadable meta) and genre names outside the vocabulary are
// counted and listed in report.json, the output meta and the run summary: never dropped silently.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { hashParts } from '../src/hash.js';
import { UserError } from '../src/errors.js';
import { perfKeys } from '../src/param-schema/types.js';
import { readSection } from '../src/param-schema/readers.js';
import type { Hash, JsonObject, ReduceContext, ReduceKind, StageContext, Tree } from '../src/stage-api.js';
import { DEMO_GENERATOR_VERSION, demoGenres, demoId, demoIndex } from './data/demo-genres.js';
import { genreColumns, genreKey, parseVocabulary } from './data/genres.js';
import { parseLabelFile } from './data/label-file.js';
import { LABEL_FILES, SPLITS, type CountsFile, type LabelsFile, type LabelsReport, type SplitFile } from './data/labels-files.js';
import { readMovienetGenres } from './data/meta.js';
import { datasetSource, demoParamsOf, labelsFileOf, metaDirOf, splitFileOf } from './data/params.js';
import { LABELS, LABELS_PARAMS } from './labels/params.js';
import { iterativeStratification, splitFromFile, splitFromFolds } from './data/split.js';
import { readPorts } from './inputs.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';

/** A genre needs this many positives to be placed in every split. */
const COVER_MIN = 3;

async function metaNames(metaDir: string): Promise<string[]> {
  try {
    return (await readdir(metaDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new UserError(`dataset.root: no meta folder ${metaDir}`, 'download MovieNet\'s "Meta" archive and extract it so that meta/<imdb_id>.json sits beside the keyframes folder (see docs/DATA.md)');
  }
}

function noLabelFile(path: string): UserError {
  return new UserError(
    `dataset.labels_file: no labels file ${path}`,
    'write a CSV (id,Genre1|Genre2) or JSON ({"id": ["Genre1"]}) labels file beside the videos, or set dataset.labels_file',
  );
}

async function readLabelFile(path: string): Promise<Map<string, string[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw noLabelFile(path);
  }
  return parseLabelFile(text, path);
}

function movies(ids: readonly string[]): string {
  return ids.length === 1 ? '1 movie' : `${ids.length} movies`;
}

function preview(ids: readonly string[], n = 5): string {
  return ids.slice(0, n).join(', ') + (ids.length > n ? `, ... (${ids.length} in all, see outputs/labels/${LABEL_FILES.report})` : '');
}

const labels: ReduceKind = {
  name: 'labels',
  type: 'reduce',
  version: 1,
  code: import.meta.url,
  ports: KIND_PORTS.labels,
  outputContract: KIND_OUTPUTS.labels,
  summary: 'one-hot genres per movie and train/val/test splits (official split file or iterative stratification)',
  params: LABELS_PARAMS,
  // dataset.root and dataset.keyframes_dir: labels/params.ts says why.
  perfParams: perfKeys(LABELS_PARAMS),

  env(ctx): Record<string, string> {
    return datasetSource(ctx) === 'demo' ? { demo_generator: String(DEMO_GENERATOR_VERSION) } : {};
  },

  async inputs(ctx) {
    const source = datasetSource(ctx);
    if (source === 'demo') return {};
    const out: Record<string, Hash> = {};
    if (source === 'movienet') {
      // One Merkle hash over every meta file, through the file-state cache (a stat each).
      const dir = metaDirOf(ctx);
      const names = await metaNames(dir);
      const hashed = await ctx.hashFiles(names.map((n) => join(dir, n)));
      out['meta'] = hashParts(names.flatMap((n, i) => [n, hashed[i]!.hash]));
    } else {
      const file = labelsFileOf(ctx);
      if (!existsSync(file)) throw noLabelFile(file);
      out['labels_file'] = (await ctx.hashFiles([file]))[0]!.hash;
    }
    const split = splitFileOf(ctx);
    if (existsSync(split)) out['split_file'] = (await ctx.hashFiles([split]))[0]!.hash;
    return out;
  },

  async run(ctx: ReduceContext) {
    const { frames } = readPorts(ctx, KIND_PORTS.labels);
    const ids = [...frames.items.keys()].sort();
    const haveFrames = new Set(ids);
    const l = readSection(ctx, LABELS);
    const vocab = parseVocabulary(l.genres);
    const ratios = l.split as [number, number, number];
    const splitSeed = l.seed;
    const source = datasetSource(ctx);

    const report: LabelsReport = {
      genreSource: '',
      splitSource: 'stratified',
      noMeta: [],
      noKnownGenres: [],
      noFrames: [],
      badMeta: [],
      unknownGenres: {},
      splitIdsNotInData: [],
      notInSplit: [],
    };
    const genresOf = new Map<string, string[]>();
    switch (source) {
      case 'demo': {
        const { movies, seed } = demoParamsOf(ctx);
        report.genreSource = `demo generator v${DEMO_GENERATOR_VERSION}, seed ${seed}`;
        for (const id of ids) {
          const index = demoIndex(id);
          if (index === undefined) report.noMeta.push(id);
          else genresOf.set(id, demoGenres(seed, index));
        }
        for (let i = 1; i <= movies; i++) if (!haveFrames.has(demoId(i))) report.noFrames.push(demoId(i));
        break;
      }
      case 'movienet': {
        const dir = metaDirOf(ctx);
        report.genreSource = dir;
        const names = await metaNames(dir);
        const limit = pLimit(32);
        const results = await Promise.all(ids.map((id) => limit(() => readMovienetGenres(dir, id))));
        ids.forEach((id, i) => {
          const r = results[i]!;
          if (r.ok) genresOf.set(id, r.genres);
          else if (r.missing) report.noMeta.push(id);
          else {
            report.badMeta.push(id);
            ctx.itemError(r.error);
          }
        });
        for (const n of names) {
          const id = n.slice(0, -'.json'.length);
          if (!haveFrames.has(id)) report.noFrames.push(id);
        }
        break;
      }
      case 'videos': {
        const file = labelsFileOf(ctx);
        report.genreSource = file;
        const table = await readLabelFile(file);
        for (const id of ids) {
          const g = table.get(id);
          if (g === undefined) report.noMeta.push(id);
          else genresOf.set(id, g);
        }
        for (const id of [...table.keys()].sort()) if (!haveFrames.has(id)) report.noFrames.push(id);
        break;
      }
    }

    // One-hot rows; names outside the vocabulary are counted, never guessed at.
    const cols = genreColumns(vocab);
    const labelled: string[] = [];
    const rows: number[][] = [];
    for (const id of ids) {
      const genres = genresOf.get(id);
      if (genres === undefined) continue;
      const row = new Array<number>(vocab.length).fill(0);
      for (const g of genres) {
        const c = cols.get(genreKey(g));
        if (c === undefined) report.unknownGenres[g.trim()] = (report.unknownGenres[g.trim()] ?? 0) + 1;
        else row[c] = 1;
      }
      if (row.includes(1)) {
        labelled.push(id);
        rows.push(row);
      } else report.noKnownGenres.push(id);
    }
    if (labelled.length === 0) {
      throw new UserError(
        `no movie has a genre from labels.genres (${ids.length} movies with frames; ${report.noMeta.length} without meta, ${report.noKnownGenres.length} without known genres, ${report.badMeta.length} with unreadable meta)`,
        `check ${report.genreSource} and labels.genres`,
      );
    }

    let split: SplitFile;
    const splitFile = source === 'demo' ? undefined : splitFileOf(ctx);
    if (splitFile !== undefined && existsSync(splitFile)) {
      let content: unknown;
      try {
        content = JSON.parse(await readFile(splitFile, 'utf8'));
      } catch (e) {
        throw new UserError(`${splitFile}: not valid JSON (${(e as Error).message})`, 'fix or delete the split file (without it the split is stratified)');
      }
      const r = splitFromFile(content, splitFile, labelled);
      split = r.split;
      report.splitSource = 'file';
      report.splitIdsNotInData = r.notInData;
      report.notInSplit = r.notInSplit;
    } else {
      split = splitFromFolds(labelled, iterativeStratification(rows, { ratios, seed: splitSeed, coverMin: COVER_MIN }));
    }

    const labelsFile: LabelsFile = {};
    labelled.forEach((id, i) => (labelsFile[id] = rows[i]!));
    const countsFor = (members: readonly string[]): { movies: number; genres: Record<string, number> } => {
      const genres: Record<string, number> = Object.fromEntries(vocab.map((g) => [g, 0]));
      for (const id of members) labelsFile[id]!.forEach((v, c) => (genres[vocab[c]!]! += v));
      return { movies: members.length, genres };
    };
    const counts: CountsFile = { all: countsFor(labelled), train: countsFor(split.train), val: countsFor(split.val), test: countsFor(split.test) };

    const put = (value: unknown): Promise<Hash> => ctx.store.put(`${JSON.stringify(value)}\n`);
    const tree: Tree = {
      [LABEL_FILES.ids]: await put(labelled),
      [LABEL_FILES.labels]: await put(labelsFile),
      [LABEL_FILES.genres]: await put(vocab),
      [LABEL_FILES.split]: await put(split),
      [LABEL_FILES.counts]: await put(counts),
      [LABEL_FILES.report]: await put(report),
    };

    const thin = vocab.filter((g) => counts.all.genres[g]! < COVER_MIN);
    const listed = (ids: string[]): JsonObject => ({ count: ids.length, first: ids.slice(0, 10) });
    const meta: JsonObject = {
      movies: labelled.length,
      split: Object.fromEntries(SPLITS.map((s) => [s, split[s].length])),
      split_source: report.splitSource,
      no_meta: listed(report.noMeta),
      no_known_genres: listed(report.noKnownGenres),
      bad_meta: listed(report.badMeta),
      no_frames: listed(report.noFrames),
      unknown_genres: report.unknownGenres,
      ...(report.splitSource === 'file' ? { split_ids_not_in_data: listed(report.splitIdsNotInData), not_in_split: listed(report.notInSplit) } : {}),
      thin_genres: thin,
    };
    const summary = [
      `labels: ${labelled.length} movies (train ${split.train.length}, val ${split.val.length}, test ${split.test.length}; ` +
        (report.splitSource === 'file' ? `split from ${splitFile})` : `stratified split, seed ${splitSeed})`),
    ];
    if (report.noMeta.length > 0) summary.push(`labels: ${movies(report.noMeta)} with frames but no genres on file, left out: ${preview(report.noMeta)}`);
    if (report.badMeta.length > 0) summary.push(`labels: ${movies(report.badMeta)} with unreadable meta, left out: ${preview(report.badMeta)}`);
    if (report.noKnownGenres.length > 0) summary.push(`labels: ${movies(report.noKnownGenres)} without a genre from labels.genres, left out: ${preview(report.noKnownGenres)}`);
    const unknown = Object.entries(report.unknownGenres).sort((a, b) => b[1] - a[1]);
    if (unknown.length > 0) summary.push(`labels: genres not in labels.genres, ignored: ${unknown.map(([g, n]) => `${g} (${n})`).join(', ')}`);
    if (report.noFrames.length > 0) summary.push(`labels: ${movies(report.noFrames)} with genres but no frames: ${preview(report.noFrames)}`);
    if (report.splitIdsNotInData.length > 0) summary.push(`labels: the split file lists ${movies(report.splitIdsNotInData)} not in the data: ${preview(report.splitIdsNotInData)}`);
    if (report.notInSplit.length > 0) summary.push(`labels: ${movies(report.notInSplit)} with genres in no split of the split file: ${preview(report.notInSplit)}`);
    if (thin.length > 0) summary.push(`labels: genres with fewer than ${COVER_MIN} positives (not in every split): ${thin.map((g) => `${g} (${counts.all.genres[g]})`).join(', ')}`);
    return { tree, meta, summary };
  },
};

export default labels;
