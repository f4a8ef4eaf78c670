// What `pipeline run` does after a successful run, beyond the engine: pipeline.lock
// (lock-file.ts), and with matrix variants of a metrics stage the side-by-side comparison
// (matrix-report.ts: lines at the end of the run, outputs/metrics-matrix.md).
import type { RunRecord } from '../runs.js';
import type { Project } from '../spec.js';
import { writeLockFile } from './lock-file.js';

export async function afterRun(project: Project, record: RunRecord, store: { readJson<T>(hash: string): Promise<T> }, json: boolean): Promise<void> {
  writeLockFile(project, record);
  if (![...project.stages.values()].some((s) => s.matrix)) return;
  const { reportMatrix } = await import('./matrix-report.js');
  const lines = await reportMatrix(project, record, store);
  if (!json && lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
}
