import { Engine } from '../engine/index.js';
import { formatItemError } from '../ui/errors.js';
import { Params, diffFlat } from '../params.js';
import { loadRecord, type RunRecord } from '../runs.js';
import { findWorkspace, loadProject } from '../spec.js';
import { UserError } from '../errors.js';
import { formatSeconds } from './common.js';
import type { Headline } from '../stage-api.js';
import { itemNoun } from '../registry.js';

export interface WorkspaceOptions {
  workspace?: string;
  json?: boolean;
}

/** Opens the workspace's engine for commands that read its history (no params overrides). */
export function openEngine(opts: WorkspaceOptions): Engine {
  const root = opts.workspace ?? findWorkspace();
  if (!root) throw new UserError('no pipeline.yaml in this folder or any folder above it', 'run pipeline in a workspace, or pass -C DIR');
  return new Engine(loadProject({ root }));
}

function flatParams(record: RunRecord): Record<string, unknown> {
  const p = new Params(record.params);
  const out: Record<string, unknown> = {};
  for (const k of p.allKeys()) out[k] = p.get(k);
  return out;
}

export interface RunsTableOptions extends WorkspaceOptions {
  limit?: number;
  sort?: string;
  csv?: boolean;
  md?: boolean;
  /** Add the results report's detail columns (the option the composition root names). */
  detail?: boolean;
}

/** `pipeline runs --table [RUN...]`: the table of runs (src/experiments/table.ts) as text, CSV, Markdown or JSON. */
export async function runsTableCommand(runs: readonly string[], opts: RunsTableOptions): Promise<number> {
  const formats = [opts.csv ? '--csv' : '', opts.md ? '--md' : '', opts.json ? '--json' : ''].filter((f) => f !== '');
  if (formats.length > 1) throw new UserError(`${formats.join(' and ')} each pick an output format; give one`);
  const { buildRunsTable } = await import('../experiments/table.js');
  const { renderTable } = await import('../experiments/table-format.js');
  const engine = openEngine(opts);
  try {
    const table = await buildRunsTable(engine, {
      runs,
      limit: opts.limit ?? 20,
      ...(opts.sort !== undefined ? { sort: opts.sort } : {}),
      detail: opts.detail === true,
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(table)}\n`);
      return 0;
    }
    if (table.rows.length === 0) {
      process.stdout.write('no runs yet: `pipeline run` makes the first\n');
      return 0;
    }
    process.stdout.write(renderTable(table, opts.csv ? 'csv' : opts.md ? 'md' : 'text'));
    return 0;
  } finally {
    engine.close();
  }
}

export async function runsCommand(opts: WorkspaceOptions & { limit?: number }): Promise<number> {
  const engine = openEngine(opts);
  try {
    const rows = engine.runs.list(opts.limit ?? 50);
    const out: Array<Record<string, unknown>> = [];
    let prev: Record<string, unknown> | undefined;
    const all = engine.runs.list(100000);
    const before = all.length > rows.length ? all[all.length - rows.length - 1] : undefined;
    if (before) prev = flatParams(await loadRecord(engine.store, before.id).catch(() => ({ params: {} }) as unknown as RunRecord));
    for (const r of rows) {
      let params: Record<string, unknown> = {};
      try {
        params = flatParams(await loadRecord(engine.store, r.id));
      } catch {
        // record collected by gc: listed without params
      }
      const changed = prev ? diffFlat(prev, params) : [];
      prev = params;
      out.push({
        id: r.id,
        time: new Date(r.time).toISOString(),
        ok: r.ok,
        seconds: Math.round(r.seconds * 1000) / 1000,
        targets: r.summary.targets,
        ran: r.summary.stages.filter((s) => s.state === 'ran').map((s) => s.name),
        changed,
        ...(r.summary.headline ? { headline: r.summary.headline } : {}),
      });
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ runs: out })}\n`);
      return 0;
    }
    if (out.length === 0) {
      process.stdout.write('no runs yet: `pipeline run` makes the first\n');
      return 0;
    }
    for (const r of out) {
      const h = r.headline as Headline | undefined;
      const when = new Date(r.time as string).toLocaleString('sv-SE').slice(0, 16);
      process.stdout.write(
        `${r.id}  ${when}  ${r.ok ? 'ok    ' : 'FAILED'}  ${formatSeconds(r.seconds as number).padStart(6)}` +
          `${h ? `  ${h.name} ${h.value.toFixed(4)}${h.baseline ? ` (${h.baseline.name} ${h.baseline.value.toFixed(4)})` : ''}` : ''}` +
          `  ran: ${(r.ran as string[]).join(', ') || 'nothing'}\n`,
      );
      for (const c of r.changed as string[]) process.stdout.write(`    ${c}\n`);
    }
    return 0;
  } finally {
    engine.close();
  }
}

export async function showCommand(run: string, opts: WorkspaceOptions): Promise<number> {
  const engine = openEngine(opts);
  try {
    const row = engine.runs.resolve(run);
    const record = await loadRecord(engine.store, row.id);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ id: row.id, time: new Date(row.time).toISOString(), seconds: row.seconds, record })}\n`);
      return 0;
    }
    const w = (s: string): void => {
      process.stdout.write(`${s}\n`);
    };
    w(`run ${row.id}  ${new Date(row.time).toISOString()}  ${record.ok ? 'ok' : 'failed'}  ${formatSeconds(row.seconds)}`);
    w(`targets: ${record.targets.join(', ')}`);
    w(`versions: ${Object.entries(record.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const [name, s] of Object.entries(record.stages)) {
      const st = row.summary.stages.find((x) => x.name === name);
      const items = st?.items ? ` (${st.items.total} items: ${st.items.ran} ran, ${st.items.cached} cached, ${st.items.failed} failed)` : '';
      w('');
      w(`${name}: ${s.uses ? `uses ${s.uses}` : `cmd ${s.cmd}`}  ${st?.state ?? ''}${items}`);
      w(`  fingerprint ${s.fpHash}: version ${s.fp.version}${Object.keys(s.fp.env).length ? `, ${Object.entries(s.fp.env).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`);
      for (const [k, v] of Object.entries(s.fp.params)) w(`    ${k} = ${JSON.stringify(v)}`);
      for (const [k, v] of Object.entries(s.fp.inputs)) w(`    input ${k} ${v}`);
      for (const [k, v] of Object.entries(s.fp.deps)) w(`    upstream ${k} ${v}`);
      if (s.output) w(`  output ${s.output.type} ${s.output.root}${s.output.type === 'tree' ? ` (${Object.keys(s.output.tree).length} files)` : ''}`);
      if (s.headline) w(`  ${s.headline.name} ${s.headline.value}${s.headline.baseline ? ` (${s.headline.baseline.name} ${s.headline.baseline.value})` : ''}`);
      for (const f of s.failures ?? []) w(`  failed: ${formatItemError(f, itemNoun(s.uses))}`);
    }
    return 0;
  } finally {
    engine.close();
  }
}
