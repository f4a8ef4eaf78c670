// The command line. Each command is one line here and a module under commands/, imported only
// when that command runs, so `--help` and `status` do not load the stage kinds' heavy
// libraries. The domain's own commands are added by the hooks the composition root registers
// (src/registry.ts, registerCommands), each listed in --help where its hook says.
import { Command, CommanderError } from 'commander';
import { choiceOption, wholeNumber } from './cli-args.js';
import { ConfigError } from './diagnostics.js';
import { storageProblem, UsageError, UserError } from './errors.js';
import { RunNotFound } from './run-lookup.js';
import { commandHooks, scoresInfo } from './registry.js';
import { packageVersion } from './version.js';

export interface GlobalOptions {
  workspace?: string;
  conf: string[];
  param: string[];
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds --conf and -p/--param (the options of commands that load the workspace's params). */
export function withProjectOptions(cmd: Command): Command {
  return cmd
    .option('--conf <file>', 'layer another parameter file over conf/default.yaml (repeatable)', collect, [])
    .option('-p, --param <key=value>', 'override one parameter, e.g. -p train.lr=0.0005 (repeatable)', collect, []);
}

export function buildProgram(): Command {
  const program = new Command('pipeline')
    .description('A cached workflow DAG of content-hashed stages.')
    .version(packageVersion())
    .option('-C, --workspace <dir>', 'run in this workspace (default: the nearest folder upward holding pipeline.yaml)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false })
    // A usage error (unknown option, bad option value) is thrown to main(), which exits 2.
    .exitOverride();

  withProjectOptions(
    program
      .command('run')
      .description('run the target stages and what they need, reusing every cached result')
      .argument('[stages...]', 'stages to run (default: all)')
      .option('--force', 'recompute the named stages (all stages when none is named) even when cached')
      .option('--dry-run', 'say what would run, run nothing')
      .option('--json', 'print one JSON object as the last line of stdout, nothing else')
      .option('-j, --jobs <n>', 'items to work on at once (default: CPU count)', wholeNumber(1, '-j 4'))
      .option('--no-wait', 'fail at once if another run holds the workspace')
      .option('--pull', 'fetch results found in the remote cache instead of computing them')
      .option('--remote <url>', 'remote cache: s3://bucket/prefix or a shared folder (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
      .addOption(choiceOption('--executor <name>', 'where map-stage items run (default: PIPELINE_EXECUTOR, then executor: in pipeline.yaml, then local)', ['local', 'bullmq']))
      .option('--redis <url>', 'Redis URL for --executor bullmq (default: PIPELINE_REDIS, then redis: in pipeline.yaml)')
      .option('--reduce-on-workers', 'with --executor bullmq: run train and metrics as jobs too, on a worker started with --stages train,metrics')
      .option('-S, --set <key=values>', 'sweep: run every combination, e.g. -S train.lr=0.001,0.0003 -S fixlen.length=64,128 (repeatable)', collect, []),
  ).action(async (stages: string[], opts: Record<string, unknown>, cmd: Command) => {
    const m = await import('./commands/run.js');
    process.exitCode = await m.runCommand(stages, { ...(cmd.optsWithGlobals() as object), ...opts } as never);
  });

  withProjectOptions(
    program
      .command('status')
      .description('say which stages are stale and why, without running or changing anything')
      .argument('[stages...]', 'stages to check (default: all)')
      .option('--json', 'print JSON')
      .option('--remote <url>', 'also say which stale results are cached in this remote (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
      .option('--redis <url>', 'Redis of a distributed run, for its queue counts (default: PIPELINE_REDIS, then redis: in pipeline.yaml)')
      .option('--exit-code', 'exit 1 when any stage is stale (for CI), 0 when everything is up to date'),
  ).action(async (stages: string[], _opts: unknown, cmd: Command) => {
    const m = await import('./commands/status.js');
    process.exitCode = await m.statusCommand(stages, cmd.optsWithGlobals() as never);
  });

  // The option adding the results report's detail columns, named by the registered reader.
  const detail = scoresInfo()?.detail;
  const runsCmd = program
    .command('runs')
    .description('list past runs: id, time, params changed since the previous run, headline metric; --table: a table of runs')
    .argument('[runs...]', 'with --table: the runs to list (ids, prefixes; default: the newest 20)')
    .option('--json', 'print JSON')
    .option('-n, --limit <n>', 'how many (newest last; default 50, with --table 20)', wholeNumber(1, '-n 10'))
    .option('--table', 'one row per run, one column per param that differs and per metric')
    .option('--sort <key>', 'with --table: sort by a column (-KEY or KEY:desc descending; metrics sort best first)')
    .option('--csv', 'with --table: print CSV')
    .option('--md', 'with --table: print a Markdown table');
  if (detail) runsCmd.option(`--${detail.name}`, detail.description);
  runsCmd.action(async (runs: string[], _opts: unknown, cmd: Command) => {
    const m = await import('./commands/runs.js');
    const o = cmd.optsWithGlobals() as { table?: boolean; sort?: string; csv?: boolean; md?: boolean } & Record<string, unknown>;
    const withDetail = detail !== undefined && o[cmd.options.find((x) => x.long === `--${detail.name}`)!.attributeName()] === true;
    if (!o.table && (runs.length > 0 || o.sort !== undefined || o.csv || o.md || withDetail)) {
      throw new UserError(`RUN arguments, --sort, --csv${detail ? `, --md and --${detail.name}` : ' and --md'} go with --table`, 'e.g. pipeline runs --table --sort mAP');
    }
    process.exitCode = o.table ? await m.runsTableCommand(runs, { ...o, detail: withDetail } as never) : await m.runsCommand(o as never);
  });

  program
    .command('show')
    .description("show a run's record: stages, fingerprints, outputs, failures")
    .argument('<run>', 'run id or unique prefix (or "latest")')
    .option('--json', 'print the whole record as JSON')
    .action(async (run: string, _opts: unknown, cmd: Command) => {
      const m = await import('./commands/runs.js');
      process.exitCode = await m.showCommand(run, cmd.optsWithGlobals() as never);
    });

  withProjectOptions(
    program
      .command('dag')
      .description('draw the stage graph')
      .option('--mermaid', 'print a Mermaid flowchart')
      .option('--json', 'print the stages, their deps, params and outs as JSON'),
  ).action(async (_opts: unknown, cmd: Command) => {
    const m = await import('./commands/dag.js');
    process.exitCode = await m.dagCommand(cmd.optsWithGlobals() as never);
  });

  program
    .command('checkout')
    .description("write a run's outputs under DIR/<stage>/ and its resolved params to DIR/params.yaml")
    .argument('[run]', 'run id or unique prefix (or "latest")')
    .option('--lock [file]', "restore pipeline.lock's outputs (or FILE's) from the cache instead of a run's")
    .option('--to <dir>', 'target folder', 'outputs')
    .option('--remote <url>', 'where to find a run that is not here (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
    .option('--json', 'print JSON: files per stage, written and removed')
    .option('--link', 'hard-link files to the cache objects instead of copying them (faster; an in-place edit then changes the cache: docs/ARCHITECTURE.md)')
    .action(async (run: string | undefined, _opts: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { lock?: string | boolean };
      if (o.lock !== undefined) {
        if (run !== undefined) throw new UserError('give a run or --lock, not both');
        const l = await import('./experiments/lock-command.js');
        process.exitCode = await l.checkoutLockCommand(typeof o.lock === 'string' ? o.lock : undefined, o as never);
        return;
      }
      if (run === undefined) throw new UserError('checkout needs a run (an id, a prefix or "latest") or --lock', 'e.g. pipeline checkout latest');
      const m = await import('./commands/checkout.js');
      process.exitCode = await m.checkoutCommand(run, cmd.optsWithGlobals() as never);
    });

  program
    .command('reproduce')
    .description("re-execute a run from its record (its params and inputs, not today's conf) and compare every output hash")
    .argument('[run]', 'run id or unique prefix (or "latest")')
    .option('--lock [file]', 're-execute pipeline.lock (or FILE) instead of a run record, and compare every output root with it')
    .option('--no-cache', 'recompute every stage instead of reusing cached results')
    .option('--remote <url>', 'where to find a run that is not here (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
    .option('--json', 'print one JSON object')
    .action(async (run: string | undefined, _opts: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals() as { lock?: string | boolean };
      if (o.lock !== undefined) {
        if (run !== undefined) throw new UserError('give a run or --lock, not both');
        const l = await import('./experiments/lock-command.js');
        process.exitCode = await l.reproduceLockCommand(typeof o.lock === 'string' ? o.lock : undefined, o as never);
        return;
      }
      if (run === undefined) throw new UserError('reproduce needs a run (an id, a prefix or "latest") or --lock', 'e.g. pipeline reproduce latest');
      const m = await import('./commands/reproduce.js');
      process.exitCode = await m.reproduceCommand(run, cmd.optsWithGlobals() as never);
    });

  program
    .command('verify')
    .description('re-hash every cached object; quarantine corrupt ones so the next run recomputes them')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const m = await import('./commands/maintenance.js');
      process.exitCode = await m.verifyCommand(cmd.optsWithGlobals() as never);
    });

  program
    .command('gc')
    .description('remove cached objects that no kept run references, and say how much was freed')
    .option('--keep-last <n>', 'keep the objects of the newest N runs (default: all runs)', wholeNumber(0, '--keep-last 5'))
    .option('--dry-run', 'say what would be removed and freed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      const m = await import('./commands/maintenance.js');
      process.exitCode = await m.gcCommand(cmd.optsWithGlobals() as never);
    });

  const params = program.command('params').description('compare parameters (see `params diff`)');
  withProjectOptions(
    params
      .command('diff')
      .description('the params that differ between two runs, or a run and the workspace conf (default: latest vs workspace)')
      .argument('[a]', 'run id or prefix, or "workspace"', 'latest')
      .argument('[b]', 'run id or prefix, or "workspace"', 'workspace')
      .option('--json', 'print JSON: {a, b, changed: [{key, a, b}]}'),
  ).action(async (a: string, b: string, _opts: unknown, cmd: Command) => {
    const m = await import('./commands/params.js');
    process.exitCode = await m.paramsDiffCommand(a, b, cmd.optsWithGlobals() as never);
  });

  withProjectOptions(program.command('ui').description('serve a local page of the runs, comparisons, the DAG and live progress (read-only; docs/UI.md)').option('--port <n>', 'port (default: any free port)', wholeNumber(0, '--port 8080', 65535)).option('--host <addr>', 'address to listen on', '127.0.0.1').option('--open', 'open the page in a browser')).action(async (_opts: unknown, cmd: Command) => { process.exitCode = await (await import('./commands/ui.js')).uiCommand(cmd.optsWithGlobals() as never); });

  withProjectOptions(
    program
      .command('push')
      .description("send what runs reference (records, outputs, result-cache entries) to the remote cache (default: the latest run)")
      .argument('[runs...]', 'run ids or unique prefixes (default: latest)')
      .option('--remote <url>', 'remote cache: s3://bucket/prefix or a shared folder (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
      .option('--json', 'print one JSON object: objects sent/present, bytes, seconds'),
  ).action(async (runs: string[], _opts: unknown, cmd: Command) => {
    const m = await import('./commands/remote.js');
    process.exitCode = await m.pushCommand(runs, cmd.optsWithGlobals() as never);
  });

  withProjectOptions(
    program
      .command('pull')
      .description("fetch runs from the remote cache (default: the remote's latest run): records, outputs, result-cache entries")
      .argument('[runs...]', 'run ids or unique prefixes (default: latest)')
      .option('--remote <url>', 'remote cache: s3://bucket/prefix or a shared folder (default: PIPELINE_REMOTE, then remote: in pipeline.yaml)')
      .option('--json', 'print one JSON object: objects received/present, bytes, seconds'),
  ).action(async (runs: string[], _opts: unknown, cmd: Command) => {
    const m = await import('./commands/remote.js');
    process.exitCode = await m.pullCommand(runs, cmd.optsWithGlobals() as never);
  });

  program
    .command('worker')
    .description('compute map-stage items queued by `pipeline run --executor bullmq` (BullMQ on Redis), putting outputs in the remote cache')
    .option('--redis <url>', 'Redis URL (default: PIPELINE_REDIS)')
    .option('--remote <url>', 'remote cache the coordinator uses (default: PIPELINE_REMOTE)')
    .option('--concurrency <n>', 'jobs at once', wholeNumber(1, '--concurrency 2'), 1)
    .option('--stages <kinds>', 'comma-separated stage kinds to take (default: the map kinds frames, embed, fixlen; add train,metrics for run --reduce-on-workers)')
    .option('--cache <dir>', "the worker's own local cache (default: .pipeline-worker/ in the current folder)")
    .option('--kinds <module>', 'also load stage kinds from this module (default-exports an array of kinds)')
    .option('--lock-duration <ms>', 'how long a job stays locked without a heartbeat before another worker takes it over', wholeNumber(1000, '--lock-duration 30000'), 30000)
    .option('--max-jobs <n>', 'exit after this many jobs (default: run until stopped)', wholeNumber(1, '--max-jobs 100'))
    .action(async (_opts: unknown, cmd: Command) => {
      const m = await import('./commands/worker.js');
      process.exitCode = await m.workerCommand(cmd.optsWithGlobals() as never);
    });

  // The domain's commands, each hook's listed before the core command it names.
  for (const hook of commandHooks()) {
    const before = program.commands.length;
    hook.add(program, { withProjectOptions });
    const at = hook.before === undefined ? -1 : program.commands.findIndex((c) => c.name() === hook.before);
    if (at >= 0 && at < before) {
      // commander lists subcommands in the order of its `commands` array.
      const list = program.commands as Command[];
      list.splice(at, 0, ...list.splice(before));
    }
  }

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `pipeline status | head`: a closed pipe ends the output, not with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    // commander has already printed its message (and the help hint); --help and --version end 0.
    if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else process.exitCode = reportError(e);
  }
}

/** Prints an error for a person and returns the exit code. */
export function reportError(e: unknown): number {
  // A full disk or a read-only cache is the machine's problem, said as one (not a stack trace).
  e = storageProblem(e) ?? e;
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.format()}\n`);
    return 2;
  }
  if (e instanceof UserError) {
    process.stderr.write(`error: ${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  if (e instanceof RunNotFound) {
    process.stderr.write(`error: ${e.message}\n`);
    return 2;
  }
  process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 70;
}
