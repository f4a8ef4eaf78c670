// The stages of pipeline.yaml checked for what its JSON Schema cannot say: deps (stages, or
// paths inside the workspace), declared params (keys of the conf), outs (inside the workspace,
// not its own files, no two stages writing one path), a map kind's first dependency, and the
// stage each input port is bound to (src/ports.ts). `matrix:` is read here and expanded by the
// loader (src/experiments/matrix.ts). Every problem is a located diagnostic.
import { existsSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { didYouMean, type Diagnostic, type Location } from './diagnostics.js';
import { parseMatrix, type MatrixAxis } from './experiments/matrix.js';
import { keyLocation, valueLocation, type Params, type readYaml } from './params.js';
import { bindPorts, readInputs } from './ports.js';
import { kindInfo } from './registry.js';
import { SPEC_FILE, type StageSpec } from './spec-types.js';

type Y = NonNullable<ReturnType<typeof readYaml>>;

function insideWorkspace(root: string, p: string): string | undefined {
  if (isAbsolute(p)) return undefined;
  const rel = normalize(p).replace(/[\\/]+$/, '');
  if (rel === '..' || rel.startsWith(`..${sep}`) || rel === '.' || rel === '') return undefined;
  const abs = resolve(root, rel);
  const back = relative(root, abs);
  return back.startsWith('..') ? undefined : back;
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
}

export interface ReadStagesInput {
  root: string;
  /** pipeline.yaml, read with positions. */
  y: Y;
  /** pipeline.yaml's `stages:` (name -> the stage's keys). */
  rawStages: Record<string, Record<string, unknown>>;
  params: Params;
  /** The base conf, named in messages about params it lacks. */
  confFile: string;
}

/** Every stage of pipeline.yaml, checked, with its ports bound (problems appended to `diagnostics`), and the stages' `matrix:` axes. */
export function readStages({ root, y, rawStages, params, confFile }: ReadStagesInput, diagnostics: Diagnostic[]): { stages: Map<string, StageSpec>; matrices: Map<string, MatrixAxis[]> } {
  const stages = new Map<string, StageSpec>();
  const names = Object.keys(rawStages);
  const matrices = new Map<string, MatrixAxis[]>();
  const explicitInputs = new Map<string, Record<string, string>>();
  /** Stages whose deps or inputs are already reported: their ports are not bound. */
  const portSkip = new Set<string>();
  const outOwners: Array<{ out: string; stage: string; loc: Location | undefined }> = [];
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

  for (const name of names) {
    const s = rawStages[name];
    if (typeof s !== 'object' || s === null) continue;
    const base = ['stages', name];
    const uses = typeof s.uses === 'string' && kindInfo(s.uses) !== undefined ? s.uses : undefined;
    const spec: StageSpec = {
      name,
      ...(uses ? { uses } : {}),
      ...(typeof s.cmd === 'string' ? { cmd: s.cmd } : {}),
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      stageDeps: [],
      ports: {},
      pathDeps: [],
      params: [],
      outs: [],
      onError: s.on_error === 'skip' ? 'skip' : 'fail',
    };
    const depProblems = diagnostics.length;

    strings(s.deps).forEach((dep, i) => {
      const loc = valueLocation(y, [...base, 'deps', i]);
      if (dep === name) {
        diagnostics.push({ message: `stage '${name}' depends on itself`, location: loc });
      } else if (Object.prototype.hasOwnProperty.call(rawStages, dep)) {
        if (spec.stageDeps.includes(dep)) diagnostics.push({ message: `dep '${dep}' is listed twice`, location: loc });
        else spec.stageDeps.push(dep);
      } else {
        const rel = insideWorkspace(root, dep);
        if (rel !== undefined && existsSync(join(root, rel))) {
          spec.pathDeps.push(rel);
        } else if (rel === undefined && !isAbsolute(dep) && !dep.startsWith('..')) {
          diagnostics.push({ message: `dep '${dep}' is not a stage or a path`, location: loc, choices: names.filter((n) => n !== name) });
        } else if (rel === undefined) {
          diagnostics.push({ message: `dep '${dep}' is outside the workspace; deps must be stages or paths inside ${SPEC_FILE}'s folder`, location: loc });
        } else {
          const hint = didYouMean(dep, names.filter((n) => n !== name));
          diagnostics.push({
            message: `dep '${dep}' is neither a stage nor an existing path in the workspace${hint ? ` (did you mean '${hint}'?)` : ''}`,
            location: loc,
            choices: names.filter((n) => n !== name),
          });
        }
      }
    });

    // `inputs:` (port -> stage) adds its stages to the deps; ports are bound once every stage is read.
    const chosen = readInputs(y, spec, s.inputs, names, diagnostics);
    if (Object.keys(chosen).length > 0) explicitInputs.set(name, chosen);
    if (diagnostics.length > depProblems) portSkip.add(name);

    strings(s.params).forEach((key, i) => {
      if (!params.has(key)) {
        const hint = didYouMean(key, params.allNames());
        diagnostics.push({
          message: `param '${key}' is not in ${relative(root, confFile) || confFile}${hint ? ` (did you mean '${hint}'?)` : ''}`,
          location: valueLocation(y, [...base, 'params', i]),
        });
      } else {
        spec.params.push(key);
      }
    });

    const matrix = parseMatrix(y, spec, s.matrix, params, diagnostics); // `matrix:` (src/experiments/matrix.ts)
    if (matrix) matrices.set(name, matrix);

    const outsRaw = strings(s.outs);
    if (outsRaw.length === 0 && uses) outOwners.push({ out: join('outputs', name), stage: name, loc: keyLocation(y, ['stages'], name) });
    if (outsRaw.length === 0 && !uses && typeof s.cmd === 'string') {
      diagnostics.push({ message: `cmd stage '${name}' must list the paths it writes under 'outs'`, location: keyLocation(y, ['stages'], name) });
    }
    outsRaw.forEach((out, i) => {
      const loc = valueLocation(y, [...base, 'outs', i]);
      const rel = insideWorkspace(root, out);
      if (rel === undefined) {
        diagnostics.push({ message: `out '${out}' is outside the workspace; outs must be relative paths inside it`, location: loc });
      } else if (rel === 'cache' || rel.startsWith(`cache${sep}`) || rel === SPEC_FILE || rel === 'conf' || rel.startsWith(`conf${sep}`)) {
        diagnostics.push({ message: `out '${out}' would overwrite the workspace's own files (cache/, conf/, ${SPEC_FILE})`, location: loc });
      } else {
        spec.outs.push(rel);
        outOwners.push({ out: rel, stage: name, loc });
      }
    });
    if (uses && spec.outs.length > 1) {
      diagnostics.push({ message: `stage '${name}' (uses ${uses}) writes one output folder; list at most one out`, location: valueLocation(y, [...base, 'outs']) });
    }
    if (uses && spec.outs.length === 0) spec.outs.push(join('outputs', name));

    // Shape of the kinds: a map kind that is not a source maps its first dependency.
    if (uses) {
      const info = kindInfo(uses)!;
      const first = spec.stageDeps[0];
      if (info.type === 'map' && !info.source) {
        if (first === undefined) {
          diagnostics.push({
            message: `stage '${name}' (uses ${uses}) works per item of its first dependency; add the stage it maps under 'deps'`,
            location: keyLocation(y, ['stages'], name),
          });
          portSkip.add(name);
        }
      }
    }
    stages.set(name, spec);
  }

  // A non-source map stage's first dependency must itself be per-item.
  for (const spec of stages.values()) {
    if (!spec.uses) continue;
    const info = kindInfo(spec.uses)!;
    const first = spec.stageDeps[0];
    if (info.type !== 'map' || info.source || first === undefined) continue;
    const up = stages.get(first);
    const upInfo = up?.uses ? kindInfo(up.uses) : undefined;
    if (!upInfo || upInfo.type !== 'map') {
      diagnostics.push({
        message: `stage '${spec.name}' (uses ${spec.uses}) maps the items of its first dependency, so '${first}' must be a per-item stage`,
        location: valueLocation(y, ['stages', spec.name, 'deps', 0]),
        choices: [...stages.values()].filter((s) => s.uses && kindInfo(s.uses)?.type === 'map' && s.name !== spec.name).map((s) => s.name),
      });
      portSkip.add(spec.name);
    }
  }

  // Each input port of a kind -> the stage that feeds it (src/ports.ts).
  bindPorts(y, stages, explicitInputs, portSkip, diagnostics);

  for (let i = 0; i < outOwners.length; i++) {
    for (let j = i + 1; j < outOwners.length; j++) {
      const a = outOwners[i]!;
      const b = outOwners[j]!;
      if (a.stage !== b.stage && overlaps(a.out, b.out)) {
        diagnostics.push({
          message: `stages '${a.stage}' and '${b.stage}' both write '${a.out === b.out ? a.out : `${a.out}' and '${b.out}`}'`,
          location: b.loc,
        });
      }
    }
  }
  return { stages, matrices };
}
