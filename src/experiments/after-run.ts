// What `pipeline run` does after a successful run, beyond the engine: pipeline.lock
// (lock-file.ts), and with matrix variants the side-by-side comparison the registered results
// reader makes of them (src/registry.ts, ScoresReader.matrixReport: lines at the end of the
// run, a file under outputs/).
import { loadScores, type ObjectReader } from '../registry.js';
import type { RunRecord } from '../runs.js';
import type { Project } from '../spec.js';
import { writeLockFile } from './lock-file.js';

export async function afterRun(project: Project, record: RunRecord, store: ObjectReader, json: boolean): Promise<void> {
  writeLockFile(project, record);
  if (![...project.stages.values()].some((s) => s.matrix)) return;
  const reader = await loadScores();
  if (!reader?.matrixReport) return;
  const lines = await reader.matrixReport(project, record, store);
  if (!json && lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
}
