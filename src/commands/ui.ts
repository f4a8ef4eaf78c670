// `pipeline ui`: serves a local page of the workspace's runs, comparisons, DAG and live progress
// (docs/UI.md). It only reads: no run lock, no cache writes.
import { spawn } from 'node:child_process';
import { UserError } from '../errors.js';
import { findWorkspace } from '../spec.js';
import { exposureWarning } from '../web/security.js';
import { startUiServer } from '../web/server.js';

export interface UiCommandOptions {
  workspace?: string;
  conf?: string[];
  param?: string[];
  port?: number;
  host?: string;
  open?: boolean;
}

function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`could not start ${cmd}: open the URL above in a browser\n`));
    child.unref();
  } catch {
    process.stderr.write(`could not start ${cmd}: open the URL above in a browser\n`);
  }
}

export async function uiCommand(opts: UiCommandOptions): Promise<number> {
  const root = opts.workspace ?? findWorkspace();
  if (!root) throw new UserError('no pipeline.yaml in this folder or any folder above it', 'run pipeline ui in a workspace, or pass -C DIR');
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    throw new UserError(`--port ${opts.port} is not a port`, 'give a whole number from 1 to 65535 (0: any free port)');
  }
  const host = opts.host ?? '127.0.0.1';
  const warning = exposureWarning(host);
  if (warning) process.stderr.write(`${warning}\n`);
  const server = await startUiServer({ root, conf: opts.conf ?? [], param: opts.param ?? [], host, port: opts.port ?? 0 });
  process.stdout.write(`pipeline ui: ${server.url}\n`);
  if (opts.open) openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
