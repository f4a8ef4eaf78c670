// What this domain (movie-genre classification) tells the core (src/registry.ts): its stage
// kinds, its commands (metrics, plots, evaluate, demo) and its results reader (how the runs
// table, the web UI and the matrix summary read metrics.json). Called by the composition root
// (main.ts) before the command line runs, and by anything else that runs the engine in-process
// (tests, benches). Cheap: it imports no kind, no command and no report module; each is
// imported when it is used.
import type { Command } from 'commander';
import { registerCommands, registerScores, type CliHelpers } from '../src/registry.js';
import { registerBuiltinKinds } from './index.js';

let done = false;

/** Registers the built-in kinds, commands and results reader (once; later calls do nothing). */
export function registerBuiltins(): void {
  if (done) return;
  done = true;
  registerBuiltinKinds();
  registerScores({
    detail: { name: 'genres', description: 'with --table: add a column per genre AP' },
    load: () => import('./report/scores-reader.js').then((m) => m.default),
  });
  registerCommands({
    add: (program) => program.description('A cached workflow DAG for movie-genre classification: frames -> CLIP embeddings -> fixed length -> genre model -> metrics.'),
  });
  registerCommands({ before: 'params', add: addMetricsCommands });
  registerCommands({ before: 'ui', add: addModelCommands });
}

function addMetricsCommands(program: Command): void {
  const metrics = program
    .command('metrics')
    .description("print a run's per-genre metrics table (default: the latest run)")
    .argument('[run]', 'run id or unique prefix', 'latest')
    .option('--json', 'print metrics.json')
    .action(async (run: string, _opts: unknown, cmd: Command) => {
      const m = await import('./commands/metrics.js');
      process.exitCode = await m.metricsCommand(run, cmd.optsWithGlobals() as never);
    });
  metrics
    .command('diff')
    .description('per-genre deltas between two runs, and the params that differ')
    .argument('<a>', 'run id or prefix')
    .argument('<b>', 'run id or prefix')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, _opts: unknown, cmd: Command) => {
      const m = await import('./commands/metrics.js');
      process.exitCode = await m.metricsDiffCommand(a, b, cmd.optsWithGlobals() as never);
    });
}

function addModelCommands(program: Command, { withProjectOptions }: CliHelpers): void {
  program
    .command('plots')
    .description('compare runs in charts (see `plots diff`)')
    .command('diff')
    .description("per-genre AP bars, one genre's PR curves and the training curves of several runs overlaid (SVG and PNG)")
    .argument('<runs...>', 'two or more run ids or prefixes')
    .option('--to <dir>', 'where the charts go (default: outputs/plots-diff)')
    .option('--genre <genre>', 'the genre of the PR chart (default: the one with most positives)')
    .option('--stage <stage>', 'the metrics stage to plot in each run (default: metrics, else the first; e.g. metrics@gru)')
    .option('--json', 'print JSON: the files written')
    .action(async (runs: string[], _opts: unknown, cmd: Command) => {
      const m = await import('./commands/plots.js');
      process.exitCode = await m.plotsDiffCommand(runs, cmd.optsWithGlobals() as never);
    });

  const evaluate = program.command('evaluate');
  withProjectOptions(
    evaluate
      .description('score a trained model (a run, or a model folder) on the current data, without retraining')
      .requiredOption('--model <run-or-path>', 'a run id/prefix whose train stage holds the model, or a folder with model/ inside')
      .addOption(evaluate.createOption('--split <split>', 'which split to score').choices(['train', 'val', 'test']))
      .option('--json', 'print metrics.json'),
  ).action(async (_opts: unknown, cmd: Command) => {
    const m = await import('./commands/metrics.js');
    process.exitCode = await m.evaluateCommand(cmd.optsWithGlobals() as never);
  });

  withProjectOptions(
    program
      .command('demo')
      .description('write the demo dataset in MovieNet layout (240P/<id>/shot_*.jpg, meta/<id>.json) to a folder')
      .requiredOption('--to <dir>', 'target folder')
      .option('--json', 'print JSON (movies, frames, folder); progress goes to stderr'),
  ).action(async (_opts: unknown, cmd: Command) => {
    const m = await import('./commands/demo.js');
    process.exitCode = await m.demoCommand(cmd.optsWithGlobals() as never);
  });
}
