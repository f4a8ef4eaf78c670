// Temp workspaces built from object literals, and the real CLI run as a process.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { registerBuiltins } from '../../stages/register.js';

// Tests that load a workspace or run the engine in-process get the built-in kinds, commands and
// results reader, as the CLI's composition root (stages/main.ts) registers them.
registerBuiltins();

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(PACKAGE_ROOT, 'bin', 'pipeline.js');

export type Files = Record<string, string | object>;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A temp workspace holding the package's own pipeline.yaml and conf/default.yaml (the demo DAG). */
export function demoRig(): Rig {
  return Rig.create({
    'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
    'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
  });
}

export class Rig {
  readonly dir: string;
  constructor(prefix = 'pipeline-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  static create(files: Files = {}): Rig {
    const r = new Rig();
    r.write(files);
    return r;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  /** Writes files; objects become YAML (.yaml/.yml) or JSON. */
  write(files: Files): void {
    for (const [rel, content] of Object.entries(files)) {
      const p = this.path(rel);
      mkdirSync(dirname(p), { recursive: true });
      const text = typeof content === 'string' ? content : /\.ya?ml$/.test(rel) ? stringify(content) : JSON.stringify(content);
      writeFileSync(p, text);
    }
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  /** Runs the CLI in the workspace. */
  cli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: this.dir,
        env: { ...process.env, CI: '1', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  /** Starts the CLI and returns the child, for tests that interrupt it. */
  spawn(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: this.dir, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    return Object.assign(child, { closed });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The last line of stdout parsed as JSON (the `--json` contract). */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
