// `pipeline params diff [A] [B]`: the parameters that differ between two runs, or between a run
// and the workspace's conf as it is now (with --conf and -p). Default: the latest run against
// the workspace.
import { diffFlat, Params } from '../params.js';
import { loadRecord } from '../runs.js';
import type { JsonValue } from '../stage-api.js';
import { openProject, type ProjectOptions } from './common.js';
import { openEngine } from './runs.js';

export interface ParamsDiffOptions extends ProjectOptions {
  json?: boolean;
}

function flat(p: Params): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const k of p.allKeys()) out[k] = p.get(k)!;
  return out;
}

const WORKSPACE = ['workspace', 'conf', '.'];

export async function paramsDiffCommand(a: string | undefined, b: string | undefined, opts: ParamsDiffOptions): Promise<number> {
  const engine = openEngine(opts);
  try {
    const side = async (ref: string | undefined, fallback: 'latest' | 'workspace'): Promise<{ name: string; params: Record<string, JsonValue> }> => {
      const r = ref ?? fallback;
      if (WORKSPACE.includes(r)) {
        const project = openProject(opts);
        return { name: 'workspace', params: flat(project.params) };
      }
      const row = engine.runs.resolve(r);
      return { name: row.id, params: flat(new Params((await loadRecord(engine.store, row.id)).params)) };
    };
    const left = await side(a, 'latest');
    const right = await side(b, 'workspace');
    const keys = [...new Set([...Object.keys(left.params), ...Object.keys(right.params)])].sort();
    const changed = keys
      .filter((k) => JSON.stringify(left.params[k]) !== JSON.stringify(right.params[k]))
      .map((k) => ({ key: k, a: left.params[k] ?? null, b: right.params[k] ?? null }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ a: left.name, b: right.name, changed })}\n`);
      return 0;
    }
    process.stdout.write(`params: ${left.name} -> ${right.name}\n`);
    const lines = diffFlat(left.params, right.params);
    if (lines.length === 0) process.stdout.write('  no differences\n');
    for (const l of lines) process.stdout.write(`  ${l}\n`);
    return 0;
  } finally {
    engine.close();
  }
}
