// The results reader the composition root registers (stages/register.ts): how the core's runs
// table, web UI and matrix summary read a metrics stage's report. Loaded only when one of them
// needs it; its parts (run-metrics.ts, matrix-report.ts, web-view.ts) import nothing heavy.
import type { ScoresReader } from '../../src/registry.js';
import { reportMatrix } from './matrix-report.js';
import { metricLabel, metricsStages, scoreEntries } from './run-metrics.js';
import { compareView, runView } from './web-view.js';

const reader: ScoresReader = {
  reportStages: metricsStages,
  entries: scoreEntries,
  label: metricLabel,
  matrixReport: reportMatrix,
  runView,
  compareView,
};

export default reader;
