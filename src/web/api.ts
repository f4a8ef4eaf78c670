// The JSON the page shows (docs/UI.md documents each shape): the runs table, one run, a
// comparison of runs, and the stage graph's status. Everything here only reads.
import type { ItemErrorJson } from '../plan.js';
import { diffFlat } from '../params.js';
import { runLookupMessage } from '../run-lookup.js';
import type { OutputRef, RunRecord, RunRow, StageRecord } from '../runs.js';
import type { StageSummary } from '../events.js';
import type { Headline } from '../stage-api.js';
import { itemNoun, loadScores, type ObjectReader } from '../registry.js';
import { buildRunsTable } from '../experiments/table.js';
import { filterRows, sortRows, webTable, type RunsTable, type TableColumn, type TableRow } from './table.js';
import { readLive, type LiveState } from './live-feed.js';
import { flatParams, type WorkspaceReader } from './workspace.js';
import { reasonText } from '../ui/reasons.js';

/** An error the API answers with a status code and a message. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface RunsPage {
  total: number;
  matched: number;
  offset: number;
  limit: number;
  sort: string;
  desc: boolean;
  columns: TableColumn[];
  rows: TableRow[];
}

export interface ArtifactFile {
  path: string;
  hash: string;
  size: number | null;
  npy?: { dtype: string; shape: number[] };
  url: string;
}

export interface StageDetail {
  name: string;
  uses?: string;
  cmd?: string;
  deps: string[];
  state: string;
  seconds: number | null;
  items?: StageSummary['items'];
  failures: ItemErrorJson[];
  error?: string;
  fpHash: string;
  headline?: Headline;
  output?: {
    type: OutputRef['type'];
    root: string;
    files: ArtifactFile[];
    /** Files in all (a collection may list only its first items). */
    fileCount: number;
    bytes: number;
    /** Set when only the first this many files were sized (bytes is then a lower bound). */
    bytesCounted?: number;
    items?: number;
  };
}

const MAX_LISTED_FILES = 200;
const MAX_SIZED_FILES = 20_000;

export class UiData {
  readonly ws: WorkspaceReader;
  readonly #tables = new Map<boolean, { seq: number; table: RunsTable }>();
  #status: { at: number; value: Promise<unknown> } | undefined;

  constructor(ws: WorkspaceReader) {
    this.ws = ws;
  }

  /** The store's objects, for the results reader (src/registry.ts). */
  get #objects(): ObjectReader {
    return { readJson: <T>(h: string) => this.ws.readJson<T>(h), read: (h: string) => this.ws.readObject(h) };
  }

  /** The whole table (with the results report's detail columns or without), rebuilt only when a run was recorded since. */
  async table(detail = false): Promise<RunsTable> {
    const seq = this.ws.lastSeq();
    const known = this.#tables.get(detail);
    if (known?.seq === seq) return known.table;
    const index = this.ws.index();
    let table: RunsTable = { columns: [], rows: [] };
    const source = { runs: index!, store: { path: (h: string) => this.ws.objectPath(h), readJson: <T>(h: string) => this.ws.readJson<T>(h) } };
    // A run recorded between the two reads of the index makes them differ: read again.
    for (let attempt = 0; index !== undefined && attempt < 5; attempt++) {
      const rows = this.ws.runs();
      if (rows.length === 0) break;
      const t = await buildRunsTable(source, { limit: rows.length, detail });
      if (t.rows.length === rows.length && t.rows.every((r, i) => r.run === rows[i]!.id)) {
        table = webTable(t, rows);
        break;
      }
    }
    this.#tables.set(detail, { seq, table });
    return table;
  }

  async runsPage(q: { offset?: number; limit?: number; sort?: string; desc?: boolean; filter?: string; detail?: boolean }): Promise<RunsPage> {
    const table = await this.table(q.detail === true);
    const sort = q.sort && (q.sort === 'seq' || table.columns.some((c) => c.key === q.sort)) ? q.sort : 'seq';
    const desc = q.desc ?? sort === 'seq';
    const matched = filterRows(table, q.filter ?? '');
    const sorted = sortRows(matched, sort, desc);
    const limit = Math.min(Math.max(1, q.limit ?? 50), 1000);
    const offset = Math.max(0, Math.min(q.offset ?? 0, Math.max(0, sorted.length - 1)));
    return { total: table.rows.length, matched: sorted.length, offset, limit, sort, desc, columns: table.columns, rows: sorted.slice(offset, offset + limit) };
  }

  async #rowAndRecord(run: string): Promise<{ row: RunRow; record: RunRecord }> {
    const found = this.ws.find(run);
    // Every reason a run is not found is the page's 404, with its message.
    if (!found.ok) throw new ApiError(404, runLookupMessage(found.error));
    const row: RunRow = found.value;
    const record = await this.ws.record(row.id);
    if (!record) throw new ApiError(404, `run ${row.id} is in the run index but its record is gone (removed by pipeline gc)`);
    return { row, record };
  }

  // An output's listing never changes (its root names its content): listed once per run and stage.
  readonly #listings = new Map<string, NonNullable<StageDetail['output']>>();

  async #files(run: string, stage: string, out: OutputRef): Promise<NonNullable<StageDetail['output']>> {
    const key = `${run}/${stage}/${out.root}`;
    let listing = this.#listings.get(key);
    if (!listing) {
      listing = await this.#listFiles(run, stage, out);
      if (this.#listings.size > 2000) this.#listings.delete(this.#listings.keys().next().value as string);
      this.#listings.set(key, listing);
    }
    return listing;
  }

  async #listFiles(run: string, stage: string, out: OutputRef): Promise<NonNullable<StageDetail['output']>> {
    const url = (p: string) => `/api/runs/${run}/files/${encodeURIComponent(stage)}/${p.split('/').map(encodeURIComponent).join('/')}`;
    const file = (path: string, hash: string, detail: boolean): ArtifactFile => {
      const size = this.ws.objectSize(hash) ?? null;
      const npy = detail && path.endsWith('.npy') ? this.ws.npyHeader(hash) : undefined;
      return { path, hash, size, ...(npy ? { npy } : {}), url: url(path) };
    };
    if (out.type === 'tree') {
      const entries = Object.entries(out.tree).sort(([a], [b]) => (a < b ? -1 : 1));
      const files = entries.map(([p, h], i) => file(p, h, i < MAX_LISTED_FILES));
      return { type: 'tree', root: out.root, files: files.slice(0, MAX_LISTED_FILES), fileCount: files.length, bytes: files.reduce((a, f) => a + (f.size ?? 0), 0) };
    }
    const manifest = await this.ws.manifest(out.manifest);
    const all: Array<[string, string]> = [];
    for (const [id, it] of Object.entries(manifest?.items ?? {})) for (const [p, h] of Object.entries(it.tree)) all.push([`${id}/${p}`, h]);
    all.sort(([a], [b]) => (a < b ? -1 : 1));
    // Sizes of a large collection (every frame of a dataset) are summed up to a point: past it
    // the page says "at least".
    let bytes = 0;
    for (const [, h] of all.slice(0, MAX_SIZED_FILES)) bytes += this.ws.objectSize(h) ?? 0;
    return {
      type: 'collection',
      root: out.root,
      files: all.slice(0, MAX_LISTED_FILES).map(([p, h]) => file(p, h, true)),
      fileCount: all.length,
      bytes,
      ...(all.length > MAX_SIZED_FILES ? { bytesCounted: MAX_SIZED_FILES } : {}),
      items: Object.keys(manifest?.items ?? {}).length,
    };
  }

  /** The object a download link names, or a 404. */
  async fileOf(run: string, stage: string, path: string): Promise<{ hash: string; file: string; name: string }> {
    const { row, record } = await this.#rowAndRecord(run);
    const s = record.stages[stage];
    if (!s?.output) throw new ApiError(404, `run ${row.id} has no output for stage '${stage}'`);
    let hash: string | undefined;
    if (s.output.type === 'tree') hash = s.output.tree[path];
    else {
      const cut = path.indexOf('/');
      const manifest = await this.ws.manifest(s.output.manifest);
      hash = cut < 0 ? undefined : manifest?.items[path.slice(0, cut)]?.tree[path.slice(cut + 1)];
    }
    if (!hash) throw new ApiError(404, `stage '${stage}' of run ${row.id} has no file '${path}'`);
    if (this.ws.objectSize(hash) === undefined) throw new ApiError(404, `cache object ${hash} (${stage}/${path}) is missing from cache/objects (run 'pipeline verify', then 'pipeline run')`);
    return { hash, file: this.ws.objectPath(hash), name: path.split('/').pop() ?? path };
  }

  async run(run: string): Promise<unknown> {
    const { row, record } = await this.#rowAndRecord(run);
    // In the order the run went through them (the record's keys are sorted by name).
    const order = row.summary.stages.map((s) => s.name);
    const names = Object.keys(record.stages).sort((a, b) => (order.indexOf(a) + 1 || 1e9) - (order.indexOf(b) + 1 || 1e9));
    const stages: StageDetail[] = [];
    for (const name of names) stages.push(await this.#stage(row, name, record.stages[name]!));
    const reader = await loadScores();
    return {
      id: row.id,
      seq: row.seq,
      time: row.time,
      seconds: row.seconds,
      ok: record.ok,
      targets: record.targets,
      headline: row.summary.headline ?? null,
      versions: record.versions,
      params: flatParams(record.params),
      // The results (for a metrics report: metrics, published figures, curves, history).
      ...((await reader?.runView?.(record, this.#objects)) ?? {}),
      stages,
    };
  }

  async #stage(row: RunRow, name: string, s: StageRecord): Promise<StageDetail> {
    const sum = row.summary.stages.find((x) => x.name === name);
    return {
      name,
      ...(s.uses ? { uses: s.uses } : {}),
      ...(s.cmd ? { cmd: s.cmd } : {}),
      deps: s.deps,
      state: sum?.state ?? (s.ok ? 'ok' : 'failed'),
      seconds: sum?.seconds ?? null,
      ...(sum?.items ? { items: sum.items } : {}),
      failures: s.failures ?? sum?.failures ?? [],
      ...(sum?.error ? { error: sum.error } : {}),
      fpHash: s.fpHash,
      ...(s.headline ? { headline: s.headline } : {}),
      ...(s.output ? { output: await this.#files(row.id, name, s.output) } : {}),
    };
  }

  async compare(ids: string[]): Promise<unknown> {
    if (ids.length < 2) throw new ApiError(400, 'compare needs two or more runs: /api/compare?runs=ID1,ID2');
    const runs = await Promise.all(
      ids.map(async (id) => {
        const { row, record } = await this.#rowAndRecord(id);
        return { row, record, params: flatParams(record.params) };
      }),
    );
    // Oldest first: deltas read as "what changed since".
    runs.sort((a, b) => a.row.seq - b.row.seq);
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
    const params = keys.map((key) => {
      const values = runs.map((r) => (key in r.params ? r.params[key] : null));
      return { key, values, differs: values.some((v) => JSON.stringify(v) !== JSON.stringify(values[0])) };
    });
    // The results of each run, and across them (for a metrics report: mAP, model, baseline_mAP
    // and history per run, then AP per class with deltas).
    const reader = await loadScores();
    const results = (await reader?.compareView?.(runs.map((r) => r.record), this.#objects)) ?? { runs: [], extra: {} };
    return {
      runs: runs.map((r, i) => ({
        id: r.row.id,
        time: r.row.time,
        ok: r.record.ok,
        ...(results.runs[i] ?? {}),
      })),
      params,
      changed: diffFlat(runs[0]!.params, runs[runs.length - 1]!.params),
      ...results.extra,
    };
  }

  live(): LiveState | undefined {
    return readLive(this.ws.cacheDir)?.state;
  }

  /** The graph: each stage's state (fresh / stale / running / failed) and why, items, where its output is. */
  async status(): Promise<unknown> {
    // Several tabs (or a fast refresh) share one evaluation for a moment.
    if (this.#status && Date.now() - this.#status.at < 1000) return this.#status.value;
    const value = this.#statusNow();
    this.#status = { at: Date.now(), value };
    value.catch(() => {
      this.#status = undefined;
    });
    return value;
  }

  async #statusNow(): Promise<unknown> {
    const loaded = this.ws.project();
    // A pipeline.yaml or conf with problems is shown on the page, with file:line:col.
    if (!loaded.ok) return { error: loaded.error.format(), stages: [], edges: [] };
    const project = loaded.value;
    const report = await this.ws.status(project);
    const live = this.live();
    const running = live && !live.ended ? live : undefined;
    const rows = this.ws.runs();
    const latest = rows[rows.length - 1];
    // Where each stage's latest output is: the newest run whose record has it.
    const outputIn = new Map<string, string>();
    for (let i = rows.length - 1; i >= 0 && i >= rows.length - 50 && outputIn.size < project.order.length; i--) {
      const rec = await this.ws.record(rows[i]!.id);
      for (const [name, s] of Object.entries(rec?.stages ?? {})) if (s.output && !outputIn.has(name)) outputIn.set(name, rows[i]!.id);
    }
    const stages = report.map((st) => {
      const spec = project.stages.get(st.name)!;
      const last = latest?.summary.stages.find((s) => s.name === st.name);
      const liveStage = running?.stages.find((s) => s.name === st.name);
      let state: string = st.state;
      const reasons = reasonText(st.reasons);
      if (liveStage?.state === 'running') state = 'running';
      else if (st.state === 'stale' && last?.state === 'failed') {
        state = 'failed';
        if (last.error) reasons.unshift(`the last run failed here: ${last.error.split('\n')[0]}`);
        for (const f of last.failures ?? []) reasons.push(`${itemNoun(spec.uses)} ${f.item}: ${f.file ? `${f.file}: ` : ''}${f.message}`);
      }
      return {
        name: st.name,
        kind: spec.uses ?? 'cmd',
        ...(spec.cmd ? { cmd: spec.cmd } : {}),
        deps: spec.stageDeps,
        state,
        reasons,
        details: st.reasons,
        ...(st.items ? { items: st.items } : {}),
        ...(liveStage ? { live: liveStage } : {}),
        ...(last ? { last: { run: latest!.id, state: last.state, seconds: last.seconds, ...(last.items ? { items: last.items } : {}) } } : {}),
        ...(outputIn.has(st.name) ? { output: { run: outputIn.get(st.name)! } } : {}),
      };
    });
    const edges = stages.flatMap((s) => s.deps.map((d) => ({ from: d, to: s.name })));
    return { stages, edges, computedAt: Date.now() };
  }
}
