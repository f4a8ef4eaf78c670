// `cmd:` stages: a user's shell command with declared deps, params and outs, so users can add
// their own steps. It runs in the workspace folder; its declared params are passed as YAML in
// the file named by $PIPELINE_PARAMS; what it writes to its outs is stored in the cache and
// restored from there when its fingerprint (command, params, deps) is unchanged.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { stringify } from './yaml.js';
import { storageProblem, UserError } from './errors.js';
import { hashBytes } from './hash.js';
import type { ReduceContext, ReduceKind, ReduceOutput, Tree } from './stage-api.js';
import type { StageSpec } from './spec.js';
import type { LocalStore } from './store.js';

/** Files below a path (itself when a file), as workspace-relative paths, sorted. */
export function listFiles(root: string, rel: string): string[] {
  const abs = join(root, rel);
  const st = statSync(abs);
  if (!st.isDirectory()) return [rel];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  walk(abs);
  return out.sort();
}

export function cmdKind(spec: StageSpec, root: string, store: LocalStore): ReduceKind {
  const cmd = spec.cmd ?? '';
  return {
    name: 'cmd',
    type: 'reduce',
    version: 1,
    summary: `shell command: ${cmd}`,
    async run(ctx: ReduceContext): Promise<ReduceOutput> {
      for (const out of spec.outs) rmSync(join(root, out), { recursive: true, force: true });
      for (const out of spec.outs) mkdirSync(dirname(join(root, out)), { recursive: true });
      const paramsFile = store.tempPath('.yaml');
      const nested: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(ctx.params)) {
        const parts = k.split('.');
        let cur = nested;
        parts.forEach((p, i) => {
          if (i === parts.length - 1) cur[p] = v;
          else cur = (cur[p] ??= {}) as Record<string, unknown>;
        });
      }
      writeFileSync(paramsFile, stringify(nested));
      const tail: string[] = [];
      try {
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn('sh', ['-c', cmd], {
            cwd: root,
            env: { ...process.env, PIPELINE_PARAMS: paramsFile, PIPELINE_STAGE: ctx.stage },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          const onAbort = (): void => {
            child.kill('SIGTERM');
          };
          ctx.signal.addEventListener('abort', onAbort, { once: true });
          const take = (level: 'info' | 'warn') => (chunk: Buffer) => {
            for (const line of chunk.toString('utf8').split('\n')) {
              if (line.length === 0) continue;
              tail.push(line);
              if (tail.length > 20) tail.shift();
              ctx.log(level, line);
            }
          };
          child.stdout.on('data', take('info'));
          child.stderr.on('data', take('warn'));
          child.on('error', reject);
          child.on('close', (c, sig) => {
            ctx.signal.removeEventListener('abort', onAbort);
            resolve(c ?? (sig ? 128 : 1));
          });
        });
        if (ctx.signal.aborted) throw new UserError(`stage ${ctx.stage}: command interrupted`);
        if (code !== 0) {
          throw new UserError(
            `stage ${ctx.stage}: command exited with code ${code}: ${cmd}${tail.length ? `\n  ${tail.slice(-10).join('\n  ')}` : ''}`,
            'fix the command or its inputs, then run again',
          );
        }
      } finally {
        rmSync(paramsFile, { force: true });
      }
      const tree: Tree = {};
      for (const out of spec.outs) {
        if (!existsSync(join(root, out))) {
          throw new UserError(`stage ${ctx.stage}: the command did not write '${out}', which the stage lists under outs`);
        }
        for (const rel of listFiles(root, out)) {
          const tmp = store.tempPath();
          // Copy, then move into the store: the out itself stays the user's file. A copy cut
          // short (a full disk) is removed, so no partial file is left in cache/tmp.
          try {
            copyFileSync(join(root, rel), tmp);
            tree[rel] = store.putFileSync(tmp);
          } catch (e) {
            rmSync(tmp, { force: true });
            throw storageProblem(e) ?? e;
          }
        }
      }
      return { tree };
    },
  };
}

export function cmdVersion(spec: StageSpec): string {
  return hashBytes(spec.cmd ?? '');
}
