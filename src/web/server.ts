// The `pipeline ui` server: Hono on Node's http server. It serves the page bundle built into
// dist/web/ (nothing from a CDN), the read-only JSON API under /api/ (docs/UI.md) and the live
// feed as server-sent events.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { UserError } from '../errors.js';
import { PACKAGE_ROOT } from '../version.js';
import { ApiError, UiData } from './api.js';
import { scoresInfo } from '../registry.js';
import { readLive, type LiveState } from './live-feed.js';
import { guard, newToken, securityHeaders } from './security.js';
import { WorkspaceReader, type WorkspaceOptions } from './workspace.js';

export const WEB_DIR = join(PACKAGE_ROOT, 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface UiServerOptions extends WorkspaceOptions {
  host?: string;
  port?: number;
  token?: string;
  /** How often the live file and the run index are polled while a page listens (ms). */
  pollMs?: number;
}

export interface UiServer {
  url: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

type Client = (event: string, data: unknown) => void;

/** Polls cache/live.json and the run index while at least one page listens. */
class Feed {
  readonly #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #mtime = 0;
  #seq = -1;
  #live: LiveState | undefined;

  constructor(
    private readonly ws: WorkspaceReader,
    private readonly pollMs: number,
  ) {}

  add(c: Client): () => void {
    this.#clients.add(c);
    if (this.#live) c('live', this.#live);
    c('runs', { seq: this.#seq < 0 ? this.ws.lastSeq() : this.#seq });
    this.#timer ??= setInterval(() => this.#poll(), this.pollMs);
    this.#poll();
    return () => {
      this.#clients.delete(c);
      if (this.#clients.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  #send(event: string, data: unknown): void {
    for (const c of this.#clients) c(event, data);
  }

  #poll(): void {
    const l = readLive(this.ws.cacheDir, this.#mtime);
    if (l) {
      this.#mtime = l.mtime;
      this.#live = l.state;
      this.#send('live', l.state ?? null);
    }
    let seq: number;
    try {
      seq = this.ws.lastSeq();
    } catch {
      return;
    }
    if (seq !== this.#seq) {
      const first = this.#seq < 0;
      this.#seq = seq;
      if (!first) this.#send('runs', { seq });
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#clients.clear();
  }
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

export function createApp(ws: WorkspaceReader, opts: { token: string; host: string; port: () => number; pollMs?: number }): { app: Hono; feed: Feed } {
  const data = new UiData(ws);
  const detailParam = scoresInfo()?.detail.name;
  const feed = new Feed(ws, opts.pollMs ?? 150);
  const app = new Hono();
  app.use('*', securityHeaders());
  app.use('*', guard({ token: opts.token, host: opts.host, port: opts.port }));

  app.onError((e, c) => {
    if (e instanceof ApiError) return c.json({ error: e.message }, e.status);
    return c.json({ error: `internal error: ${e instanceof Error ? e.message : String(e)}` }, 500);
  });
  app.notFound((c) => c.json({ error: `no such page or API: ${c.req.path} (see docs/UI.md)` }, 404));

  app.get('/api/runs', async (c) => {
    const q = c.req.query();
    return c.json(
      await data.runsPage({
        ...(int(q.offset) !== undefined ? { offset: int(q.offset)! } : {}),
        ...(int(q.limit) !== undefined ? { limit: int(q.limit)! } : {}),
        ...(q.sort ? { sort: q.sort } : {}),
        ...(q.desc !== undefined ? { desc: q.desc === '1' || q.desc === 'true' } : {}),
        ...(q.filter ? { filter: q.filter } : {}),
        // The results report's detail columns, under the name the composition root registered.
        ...(detailParam !== undefined && (q[detailParam] === '1' || q[detailParam] === 'true') ? { detail: true } : {}),
      }),
    );
  });
  app.get('/api/runs/:id', async (c) => c.json(await data.run(c.req.param('id'))));
  app.get('/api/runs/:id/files/:stage/*', async (c) => {
    const prefix = `/api/runs/${c.req.param('id')}/files/${c.req.param('stage')}/`;
    const raw = new URL(c.req.url).pathname;
    const rel = raw.startsWith(prefix) ? raw.slice(prefix.length) : '';
    const path = rel.split('/').map(decodeURIComponent).join('/');
    const f = await data.fileOf(c.req.param('id'), decodeURIComponent(c.req.param('stage')), path);
    const body = Readable.toWeb(createReadStream(f.file)) as unknown as ReadableStream;
    return new Response(body, {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${f.name.replace(/["\\\r\n]/g, '_')}"`,
        'Cache-Control': 'private, max-age=31536000, immutable',
      },
    });
  });
  app.get('/api/compare', async (c) => {
    const ids = (c.req.query('runs') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    return c.json(await data.compare(ids));
  });
  app.get('/api/status', async (c) => c.json(await data.status()));
  app.get('/api/live', (c) => c.json({ live: data.live() ?? null }));
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      let id = 0;
      const queue: Array<{ event: string; data: string }> = [];
      let wake: (() => void) | undefined;
      const remove = feed.add((event, payload) => {
        queue.push({ event, data: JSON.stringify(payload) });
        wake?.();
      });
      stream.onAbort(() => {
        remove();
        wake?.();
      });
      try {
        while (!stream.aborted) {
          while (queue.length > 0) {
            const m = queue.shift()!;
            await stream.writeSSE({ event: m.event, data: m.data, id: String(++id) });
          }
          // A comment now and then keeps proxies and the browser from closing an idle stream.
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 15_000).unref();
          });
          wake = undefined;
          if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        remove();
      }
    }),
  );

  // The page: index.html for every non-API path (the page routes with #/...), assets by name.
  const page = (): string => {
    const f = join(WEB_DIR, 'index.html');
    if (!existsSync(f)) throw new ApiError(404, 'the page bundle is missing from dist/web: run `npm run build` in the pipeline package');
    return readFileSync(f, 'utf8');
  };
  app.get('/assets/*', (c) => {
    const rel = normalize(c.req.path.slice('/assets/'.length));
    if (rel.startsWith('..') || rel.includes('\0')) return c.json({ error: 'no such asset' }, 404);
    const f = join(WEB_DIR, 'assets', rel);
    if (!existsSync(f)) return c.json({ error: `no such asset: ${rel}` }, 404);
    return c.body(readFileSync(f), 200, { 'Content-Type': TYPES[extname(f)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
  });
  app.get('/', (c) => c.html(page()));
  return { app, feed };
}

/** Starts the server; resolves once it listens. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const ws = new WorkspaceReader(opts);
  let port = opts.port ?? 0;
  const { app, feed } = createApp(ws, { token, host, port: () => port, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) });
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new UserError(`port ${opts.port} on ${host} is in use`, 'pick another with --port N, or --port 0 for any free one'));
      else if (e.code === 'EADDRNOTAVAIL') reject(new UserError(`cannot listen on ${host}: not an address of this machine`, 'use --host 127.0.0.1 (the default)'));
      else reject(e);
    });
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/?token=${token}`,
    token,
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        feed.close();
        ws.close();
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
