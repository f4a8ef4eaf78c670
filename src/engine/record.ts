// What a run leaves besides results: each stage's record (the run record is their map), and
// outputs/params.yaml.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as yamlStringify } from '../yaml.js';
import type { StageRecord } from '../runs.js';
import type { PlannedView } from './view.js';

/** A stage's part of the run record: its definition, fingerprint, output and failures. */
export function stageRecord(view: PlannedView, ok: boolean): StageRecord {
  const s = view.spec;
  return {
    ...(s.uses ? { uses: s.uses } : {}),
    ...(s.cmd ? { cmd: s.cmd } : {}),
    deps: s.stageDeps,
    ...(Object.keys(s.ports ?? {}).length > 0 ? { ports: s.ports } : {}),
    ...(s.explicitPorts && Object.keys(s.explicitPorts).length > 0 ? { explicitPorts: s.explicitPorts } : {}),
    pathDeps: s.pathDeps,
    params: s.params,
    outs: s.outs,
    onError: s.onError,
    ...(s.set ? { set: s.set } : {}),
    fp: view.id!.fp,
    fpHash: view.id!.fpHash,
    ok,
    ...(view.finished ? { output: view.finished.output } : {}),
    ...(view.failures.length > 0 ? { failures: view.failures } : {}),
    ...(view.type === 'reduce' && view.cached?.headline ? { headline: view.cached.headline } : {}),
  };
}

/** outputs/params.yaml: the resolved parameters of the run whose outputs are checked out. */
export function writeParamsFile(root: string, params: unknown, runId: string): void {
  const dir = join(root, 'outputs');
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, '.params.yaml.tmp');
  writeFileSync(tmp, `# Resolved parameters of run ${runId}\n${yamlStringify(params)}`);
  renameSync(tmp, join(dir, 'params.yaml'));
}
