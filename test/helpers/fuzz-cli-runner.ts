// The command-line fuzzer of test/fuzz-cli.test.ts, run as its own process: it calls the CLI
// in-process (buildProgram, as bin/pipeline.js runs it) with stdout and stderr captured, which
// must not swallow the test runner's own reports. Prints one JSON line: {ok, runs} or
// {ok: false, error}. Arguments: workspace folder, run id, number of runs, seed.
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import fc from 'fast-check';
import { buildProgram, reportError } from '../../src/cli.js';
import { registerBuiltins } from '../../stages/register.js';

registerBuiltins();

const [dirArg, runId = '', runsArg = '150', seedArg = '1310'] = process.argv.slice(2);
if (dirArg === undefined) throw new Error('usage: fuzz-cli-runner DIR RUN_ID RUNS SEED');
const dir: string = dirArg;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function quiet(cmd: Command, sink: { out: string; err: string }): void {
  cmd.exitOverride().configureOutput({ writeOut: (s) => void (sink.out += s), writeErr: (s) => void (sink.err += s) });
  for (const c of cmd.commands) quiet(c, sink);
}

/** Runs the CLI in this process with stdout and stderr captured, in the workspace folder. */
async function cli(args: string[]): Promise<Outcome> {
  const sink = { out: '', err: '' };
  const program = buildProgram();
  quiet(program, sink);
  const out = process.stdout.write;
  const err = process.stderr.write;
  const cwd = process.cwd();
  process.stdout.write = ((s: string | Uint8Array) => ((sink.out += String(s)), true)) as typeof out;
  process.stderr.write = ((s: string | Uint8Array) => ((sink.err += String(s)), true)) as typeof err;
  process.exitCode = undefined;
  let code: number;
  try {
    process.chdir(dir);
    await program.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(e);
  } finally {
    process.chdir(cwd);
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
  }
  return { code, stdout: sink.out, stderr: sink.err };
}

const codes: Record<number, number> = {};
function check(args: string[], r: Outcome): void {
  codes[r.code] = (codes[r.code] ?? 0) + 1;
  const what = `pipeline ${args.map((a) => JSON.stringify(a)).join(' ')} -> ${r.code}\n${r.stderr}`;
  assert.ok([0, 1, 2].includes(r.code), what);
  assert.doesNotMatch(r.stderr, /internal error|^\s+at .*:\d+:\d+\)?$/m, what);
  if (r.code === 2) assert.match(r.stderr, /error/i, what);
}

const COMMANDS = ['status', 'dag', 'runs', 'show', 'checkout', 'verify', 'gc', 'metrics', 'run'] as const;

function optionsOf(name: string): string[] {
  const c = buildProgram().commands.find((x) => x.name() === name)!;
  return c.options.flatMap((o) => [o.long, o.short].filter((x): x is string => x !== undefined));
}

const word = fc.oneof(
  fc.constantFrom('count', 'nope', 'latest', '0', '1', '-1', '1.5', 'x', '', ' ', '--', '-', '=', 'report.scale=2', 'report.scale=x', 'report.nope=1', 'report=1', '=1', 'a=b', 'ffffffffffffffff', 'zz', 'NaN', '1e9', '99999999999999999999', 'train', 'val', 'test', '--json', '--help', '-C', '.', '..', '/', 'conf/default.yaml', 'missing.yaml', '\u00e9', '\0'),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 100 }).map(String),
);

const argv = fc
  .constantFrom(...COMMANDS)
  .chain((name) =>
    fc.tuple(
      fc.constant(name),
      fc.array(fc.oneof(fc.constantFrom(...optionsOf(name), '-p', '--conf', '--bogus', '-C'), word, fc.constant(runId.slice(0, 6))), { maxLength: 6 }),
    ),
  )
  .map(([name, rest]) => {
    const args: string[] = [name, ...rest];
    // What changes the workspace stays out of it: run only plans; checkout writes in the rig.
    if (name === 'run') args.push('--dry-run');
    if (name === 'gc') args.push('--dry-run');
    if (name === 'checkout') args.push('--to', 'snap');
    return args;
  });

async function main(): Promise<void> {
  const cases: Array<[string[], number, RegExp?]> = [
    [['status'], 0],
    [['status', '--exit-code', '-p', 'report.scale=2'], 1],
    [['runs', '-n', 'x'], 2, /whole number >= 1/],
    [['gc', '--keep-last', 'x', '--dry-run'], 2, /whole number >= 0/],
    [['show', 'zz'], 2, /not a run id/],
    [['status', '-p', 'report.scale=&a [*a]'], 2, /refers to itself/],
    [['status', '-p', 'report.nope=1'], 2, /unknown parameter 'report.nope'/],
    [['status', '--conf', 'missing.yaml'], 2, /cannot read/],
    [['run', 'nope', '--dry-run'], 2, /no stage named 'nope'/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    if (message) assert.match(r.stderr, message);
    check(args, r);
  }
  await fc.assert(
    fc.asyncProperty(argv, async (args) => check(args, await cli(args))),
    { numRuns: Number(runsArg), seed: Number(seedArg) },
  );
}

main().then(
  () => console.log(JSON.stringify({ ok: true, runs: Number(runsArg), codes })),
  (e: unknown) => console.log(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })),
);
