// `pipeline ui`'s server and JSON API on a small cmd-stage workspace: the token (401), the Host
// check (403), unknown runs (404 with a message), read-only (405, no lock taken, nothing in
// cache/ written), the data the page reads, the live feed and the CLI's one line.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lastJson, Rig } from './helpers/rig.js';
import { exposureWarning, hostAllowed } from '../src/web/security.js';
import { startUiServer, type UiServer } from '../src/web/server.js';
import { livePublisher, readLive } from '../src/web/live-feed.js';

const rigs: Rig[] = [];
const servers: UiServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  rigs.forEach((r) => r.cleanup());
});

function workspace(): Rig {
  const rig = Rig.create({
    'pipeline.yaml': [
      'stages:',
      '  count:',
      '    cmd: mkdir -p out && cat data/*.txt | wc -c > out/count.txt',
      '    deps: [data]',
      '    outs: [out/count.txt]',
      '  report:',
      '    cmd: mkdir -p out && echo "count=$(cat out/count.txt) scale=$(grep scale $PIPELINE_PARAMS)" > out/report.txt',
      '    deps: [count]',
      '    params: [report]',
      '    outs: [out/report.txt]',
      '',
    ].join('\n'),
    'conf/default.yaml': 'report:\n  scale: 1\n',
    'data/a.txt': 'alpha\n',
    'data/b.txt': 'beta\n',
  });
  rigs.push(rig);
  return rig;
}

/** A raw request, so that the Host header can be anything. */
function raw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under cache/ with its content hash, but SQLite's -wal/-shm (any reader of a WAL database uses them). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/-(wal|shm)$/.test(e.name)) out[p.slice(dir.length)] = `${statSync(p).size}:${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

describe('pipeline ui API', () => {
  let rig: Rig;
  let ui: UiServer;
  let a: string;
  let b: string;
  const api = async <T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> => {
    const r = await fetch(`http://127.0.0.1:${ui.port}${path}`, { headers: { Authorization: `Bearer ${ui.token}` } });
    return { status: r.status, body: (await r.json()) as T };
  };

  before(async () => {
    rig = workspace();
    a = lastJson<{ run: string }>((await rig.cli(['run', '--json'])).stdout).run;
    b = lastJson<{ run: string }>((await rig.cli(['run', '--json', '-p', 'report.scale=5'])).stdout).run;
    ui = await startUiServer({ root: rig.dir, port: 0 });
    servers.push(ui);
  });

  it('asks for the token: none or a wrong one is 401 with a message; the first visit sets a cookie', async () => {
    const none = await raw(ui.port, '/api/runs', { Host: `127.0.0.1:${ui.port}` });
    assert.equal(none.status, 401);
    assert.match(JSON.parse(none.body).error, /token is needed/);
    const wrong = await raw(ui.port, '/api/runs?token=nope', { Host: `127.0.0.1:${ui.port}` });
    assert.equal(wrong.status, 401);
    assert.match(JSON.parse(wrong.body).error, /wrong token/);
    const page = await raw(ui.port, '/', { Host: `localhost:${ui.port}`, Accept: 'text/html' });
    assert.equal(page.status, 401);

    const first = await raw(ui.port, `/?token=${ui.token}`, { Host: `127.0.0.1:${ui.port}` });
    assert.equal(first.status, 302);
    assert.equal(first.headers.location, '/', 'the token leaves the address bar');
    const cookie = String(first.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = await raw(ui.port, '/api/runs', { Host: `127.0.0.1:${ui.port}`, Cookie: cookie.split(';')[0]! });
    assert.equal(withCookie.status, 200);
    const html = await raw(ui.port, '/', { Host: `127.0.0.1:${ui.port}`, Cookie: cookie.split(';')[0]! });
    assert.equal(html.status, 200);
    assert.match(html.body, /<script type="module" src="\/assets\/app.js">/);
    assert.match(String(html.headers['content-security-policy']), /default-src 'self'/);
    const js = await raw(ui.port, '/assets/app.js', { Host: `127.0.0.1:${ui.port}`, Cookie: cookie.split(';')[0]! });
    assert.equal(js.status, 200, 'the bundle is served from dist/web');
    assert.ok(js.body.length > 10_000);
    assert.doesNotMatch(js.body, /https?:\/\/(cdn|unpkg|jsdelivr)/);
  });

  it('refuses a foreign Host header (DNS rebinding) with 403, and anything but GET with 405', async () => {
    const auth = { Authorization: `Bearer ${ui.token}` };
    const evil = await raw(ui.port, '/api/runs', { ...auth, Host: `evil.example:${ui.port}` });
    assert.equal(evil.status, 403);
    assert.match(JSON.parse(evil.body).error, /Host 'evil.example:\d+' is not this server/);
    assert.equal((await raw(ui.port, '/api/runs', { ...auth, Host: 'localhost:1' })).status, 403, 'another port');
    assert.equal((await raw(ui.port, '/api/runs', { ...auth, Host: `localhost:${ui.port}` })).status, 200);
    const post = await raw(ui.port, '/api/runs', { ...auth, Host: `127.0.0.1:${ui.port}` }, 'POST');
    assert.equal(post.status, 405);
    assert.match(JSON.parse(post.body).error, /only reads/);
    assert.equal(hostAllowed('[::1]:8080', '127.0.0.1', 8080), true);
    assert.equal(hostAllowed('192.168.1.5:8080', '127.0.0.1', 8080), false);
    assert.equal(hostAllowed('192.168.1.5:8080', '0.0.0.0', 8080), true, 'on 0.0.0.0 the machine is reached by its IP');
    assert.equal(hostAllowed('rebound.example:8080', '0.0.0.0', 8080), false);
    assert.equal(exposureWarning('127.0.0.1'), undefined);
    assert.match(exposureWarning('0.0.0.0') ?? '', /^warning: --host 0\.0\.0\.0 serves/);
  });

  it('answers an unknown or malformed run with 404 and a message', async () => {
    const none = await api<{ error: string }>('/api/runs/ffffffffffffffff');
    assert.equal(none.status, 404);
    assert.match(none.body.error, /no run matches 'ffffffffffffffff'/);
    const bad = await api<{ error: string }>('/api/runs/zz');
    assert.equal(bad.status, 404);
    assert.match(bad.body.error, /'zz' is not a run id/);
    const file = await api<{ error: string }>(`/api/runs/${b}/files/report/nothing.txt`);
    assert.equal(file.status, 404);
    assert.match(file.body.error, /has no file 'nothing.txt'/);
    const cmp = await api<{ error: string }>(`/api/compare?runs=${a}`);
    assert.equal(cmp.status, 400);
  });

  it('lists, sorts, filters and pages runs; a run has its stages, artifacts and download links; compare diffs params', async () => {
    const all = await api<{ total: number; rows: Array<{ run: string; params: Record<string, unknown> }>; columns: Array<{ key: string }> }>('/api/runs');
    assert.equal(all.body.total, 2);
    assert.deepEqual(all.body.rows.map((r) => r.run), [b, a], 'newest first');
    assert.ok(all.body.columns.some((c) => c.key === 'param:report.scale'), 'the param that differs is a column');
    const asc = await api<{ rows: Array<{ run: string }> }>('/api/runs?sort=param:report.scale&desc=0');
    assert.deepEqual(asc.body.rows.map((r) => r.run), [a, b]);
    const filtered = await api<{ matched: number; rows: Array<{ run: string }> }>('/api/runs?filter=scale=5');
    assert.deepEqual(filtered.body.rows.map((r) => r.run), [b]);
    const paged = await api<{ rows: unknown[]; matched: number }>('/api/runs?limit=1&offset=1');
    assert.equal(paged.body.rows.length, 1);
    assert.equal(paged.body.matched, 2);

    const run = await api<{ id: string; stages: Array<{ name: string; state: string; output?: { files: Array<{ path: string; size: number; url: string }> } }> }>(`/api/runs/${b.slice(0, 6)}`);
    assert.equal(run.status, 200);
    assert.equal(run.body.id, b);
    assert.deepEqual(run.body.stages.map((s) => [s.name, s.state]), [['count', 'cached'], ['report', 'ran']]);
    const f = run.body.stages[1]!.output!.files[0]!;
    assert.equal(f.path, 'out/report.txt');
    const dl = await fetch(`http://127.0.0.1:${ui.port}${f.url}`, { headers: { Authorization: `Bearer ${ui.token}` } });
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-disposition') ?? '', /attachment; filename="report.txt"/);
    const text = await dl.text();
    assert.match(text, /scale: 5/);
    assert.equal(f.size, Buffer.byteLength(text));

    const cmp = await api<{ runs: Array<{ id: string }>; params: Array<{ key: string; values: unknown[]; differs: boolean }>; changed: string[] }>(`/api/compare?runs=${b},${a}`);
    assert.deepEqual(cmp.body.runs.map((r) => r.id), [a, b], 'oldest first');
    assert.deepEqual(cmp.body.params.filter((p) => p.differs), [{ key: 'report.scale', values: [1, 5], differs: true }]);
    assert.deepEqual(cmp.body.changed, ['report.scale: 1 -> 5']);
  });

  it('reads status as `pipeline status` does, sees a param change, and writes nothing nor takes the lock', async () => {
    const cache = join(rig.dir, 'cache');
    const before = snapshot(cache);
    writeFileSync(rig.path('conf/default.yaml'), 'report:\n  scale: 7\n');
    await new Promise((r) => setTimeout(r, 1100)); // past the status memo of one second
    const st = await api<{ stages: Array<{ name: string; state: string; reasons: string[]; output?: { run: string } }>; edges: unknown[] }>('/api/status');
    assert.deepEqual(
      st.body.stages.map((s) => [s.name, s.state, s.reasons]),
      [
        ['count', 'fresh', []],
        ['report', 'stale', ['param report.scale: 5 -> 7']],
      ],
    );
    assert.equal(st.body.stages[1]!.output?.run, b, 'click-through to the run holding the latest output');
    assert.deepEqual(st.body.edges, [{ from: 'count', to: 'report' }]);
    await api('/api/runs');
    await api(`/api/runs/${a}`);
    assert.deepEqual(snapshot(cache), before, 'nothing under cache/ changed');
    // The UI holds no lock: a run goes ahead at once while it serves.
    const r = await rig.cli(['run', '--no-wait', '--json']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('shows a stage the last run failed in as failed, with the error among its reasons', async () => {
    const w = workspace();
    w.write({ 'pipeline.yaml': 'stages:\n  ok:\n    cmd: mkdir -p out && echo 1 > out/ok.txt\n    outs: [out/ok.txt]\n  broken:\n    cmd: echo "no such model" >&2; exit 3\n    deps: [ok]\n    outs: [out/broken.txt]\n' });
    const r = await w.cli(['run', '--json']);
    assert.equal(r.code, 1);
    const s = await startUiServer({ root: w.dir, port: 0 });
    servers.push(s);
    const get = <T>(p: string) => fetch(`http://127.0.0.1:${s.port}${p}`, { headers: { Authorization: `Bearer ${s.token}` } }).then((x) => x.json() as Promise<T>);
    const st = await get<{ stages: Array<{ name: string; state: string; reasons: string[] }> }>('/api/status');
    assert.deepEqual(st.stages.map((x) => [x.name, x.state]), [['ok', 'fresh'], ['broken', 'failed']]);
    assert.match(st.stages[1]!.reasons[0]!, /^the last run failed here: .*exit/);
    const runs = await get<{ rows: Array<{ ok: boolean }> }>('/api/runs');
    assert.deepEqual(runs.rows.map((x) => x.ok), [false]);
    const failed = await get<{ rows: unknown[] }>('/api/runs?filter=failed');
    assert.equal(failed.rows.length, 1);
  });

  it('creates nothing in a workspace that has never run', async () => {
    const fresh = workspace();
    const s = await startUiServer({ root: fresh.dir, port: 0 });
    servers.push(s);
    const get = (p: string) => fetch(`http://127.0.0.1:${s.port}${p}`, { headers: { Authorization: `Bearer ${s.token}` } }).then((r) => r.json() as Promise<Record<string, unknown>>);
    assert.equal((await get('/api/runs')).total, 0);
    const st = (await get('/api/status')) as { stages: Array<{ state: string; reasons: string[] }> };
    assert.deepEqual(st.stages.map((x) => [x.state, x.reasons]), [['stale', ['never run']], ['stale', ['never run']]]);
    assert.equal(existsSync(fresh.path('cache')), false, 'no cache/ folder, no database');
  });

  it('publishes a run\'s progress to cache/live.json and streams it as server-sent events', async () => {
    const live = await api<{ live: { ended: { run: string; ok: boolean }; stages: Array<{ name: string; state: string }> } }>('/api/live');
    assert.equal(live.body.live.ended.ok, true);
    assert.deepEqual(live.body.live.stages.map((s) => s.name), ['count', 'report']);

    // The publisher writes at most every everyMs, and at once at the end. A temp file that a
    // killed run left (its pid is gone) is removed when the next run starts publishing; a live
    // run's (this process) is kept.
    const dir = fresh();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, `live.json.${dead}.tmp`), '{"half');
    writeFileSync(join(dir, `live.json.${process.pid}.tmp`), '{}');
    const pub = livePublisher(dir, { everyMs: 10_000 });
    assert.equal(existsSync(join(dir, `live.json.${dead}.tmp`)), false, 'a dead run\'s temp file is removed');
    pub.listener({ type: 'run-start', stages: [{ name: 's' }] });
    pub.listener({ type: 'stage-start', stage: 's', total: 4, toRun: 4 });
    for (let i = 1; i <= 3; i++) pub.listener({ type: 'item', stage: 's', item: `m${i}`, ok: true, done: i, toRun: 4 });
    assert.equal(readLive(dir)?.state?.stages[0]?.state, 'pending', 'written at the start; what follows waits for the next write');
    // An epoch arrives as numbers (ProgressUpdate.point); the message is only shown, never parsed.
    pub.listener({ type: 'progress', stage: 's', update: { done: 0.5, total: 2, message: 'reference epoch 1/2 loss 0.500 val mAP 0.250 F1 0.100' } });
    pub.listener({
      type: 'progress',
      stage: 's',
      update: { done: 1, total: 2, message: 'epoch 1 done', point: { series: 'reference', step: 1, values: { train_loss: 0.5, val_map: 0.25, val_f1: 0.1 } } },
    });
    pub.listener({ type: 'run-end', summary: { run: 'abc', ok: true, interrupted: false, stages: [], seconds: 1, notes: [] } });
    const end = readLive(dir)!.state!;
    assert.equal(end.stages[0]!.items!.done, 3);
    assert.deepEqual(end.stages[0]!.epochs, [{ model: 'reference', epoch: 1, train_loss: 0.5, val_map: 0.25, val_f1: 0.1 }]);
    assert.deepEqual(end.ended, { run: 'abc', ok: true, interrupted: false });

    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${ui.port}/api/events`, { headers: { Authorization: `Bearer ${ui.token}` }, signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: runs')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    assert.match(text, /event: live\ndata: \{.*"ended"/);
  });

  it('`pipeline ui` prints one line with the URL and stops on SIGTERM', async () => {
    const child = rig.spawn(['ui', '--port', '0']);
    let out = '';
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('\n') && resolve())));
    assert.match(out, /^pipeline ui: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+\n$/);
    const url = out.trim().split(' ').pop()!;
    const r = await fetch(url, { redirect: 'manual' });
    assert.equal(r.status, 302);
    child.kill('SIGTERM');
    assert.equal(await child.closed, 0);
  });
});

function fresh(): string {
  const r = new Rig('pipeline-ui-live-');
  rigs.push(r);
  return r.dir;
}
