import { ConfigError, didYouMean } from '../diagnostics.js';
import { loadProject, type Project } from '../spec.js';

export interface ProjectOptions {
  workspace?: string;
  conf?: string[];
  param?: string[];
}

export function openProject(opts: ProjectOptions, load: { readOnly?: boolean } = {}): Project {
  return loadProject({
    ...load,
    ...(opts.workspace ? { root: opts.workspace } : {}),
    confLayers: opts.conf ?? [],
    overrides: opts.param ?? [],
  });
}

/** Checks stage names given on the command line. */
export function checkStageNames(project: Project, names: readonly string[]): void {
  const known = [...project.stages.keys()];
  const bad = names.filter((n) => !project.stages.has(n));
  if (bad.length === 0) return;
  throw new ConfigError(
    bad.map((n) => {
      const hint = didYouMean(n, known);
      return { message: `no stage named '${n}'${hint ? ` (did you mean '${hint}'?)` : ''}`, choices: known };
    }),
  );
}

export function formatSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
