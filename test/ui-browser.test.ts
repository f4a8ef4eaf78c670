// `pipeline ui` in real headless Chromium on a tiny demo workspace: the runs table and its
// sorting, a run's page, a comparison of two runs, a live run advancing in the page, and the
// DAG showing a stale stage with its reason after a param change.
//
// UI_SCREENSHOTS=docs/ui node --test dist/test/ui-browser.test.js refreshes docs/ui/*.png.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { lastJson, type Rig } from './helpers/rig.js';
import { launch, shot, tinyDemo, watchErrors } from './helpers/ui.js';
import { startUiServer, type UiServer } from '../src/web/server.js';

const firstRow = (id: string) => `[data-testid=runs-table] tbody tr:first-child[data-run="${id}"]`;

describe('pipeline ui in Chromium', () => {
  let rig: Rig;
  let ui: UiServer;
  let browser: BrowserContext;
  let page: Page;
  let errors: string[];
  const runs: string[] = [];
  const api = async <T>(path: string): Promise<T> =>
    (await (await fetch(`http://127.0.0.1:${ui.port}${path}`, { headers: { Authorization: `Bearer ${ui.token}` } })).json()) as T;

  before(async () => {
    rig = tinyDemo();
    const r = await rig.cli(['run', '--json', '-j', '2']);
    assert.equal(r.code, 0, r.stderr);
    runs.push(lastJson<{ run: string }>(r.stdout).run);
    ui = await startUiServer({ root: rig.dir, port: 0 });
    browser = await launch();
    page = await browser.newPage();
    errors = watchErrors(page);
  });
  after(async () => {
    await browser?.close();
    await ui?.close();
    rig?.cleanup();
  });

  it('opens on the runs table and shows a run: headline, per-genre table beside the published figures, charts, artifacts', async () => {
    await page.goto(ui.url);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.waitForSelector(`[data-testid=runs-table] tr[data-run="${runs[0]}"]`);
    await page.click(`tr[data-run="${runs[0]}"] a`);
    await page.waitForSelector('[data-testid=run-page]');
    const detail = await api<{ metrics: { mAP: number; baseline: { mAP: number } } }>(`/api/runs/${runs[0]}`);
    assert.equal(await page.textContent('[data-testid=run-id]'), runs[0]);
    assert.equal(await page.textContent('[data-testid=map]'), detail.metrics.mAP.toFixed(3));
    const drama = await page.locator('[data-testid=genre-table] tr[data-genre=Drama]').innerText();
    assert.match(drama, /Drama/);
    assert.match(drama, /71\.16\s+79\.42\s+79\.95/, 'ResNet P / R / AP beside ours');
    assert.match(drama, /77\.67\s+79\.97\s+80\.31/, 'the reference BiLSTM too');
    for (const id of ['ap-bars', 'pr-curve', 'training-curves']) assert.equal(await page.locator(`[data-testid=${id}] canvas`).count(), 1, `${id} drawn`);
    // Hovering the training chart shows the values under the cursor in its legend.
    const over = page.locator('[data-testid=training-curves] .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(box.x + box.width - 3, box.y + box.height / 2, { steps: 4 });
    assert.match(await page.locator('[data-testid=training-curves] .u-legend').innerText(), /train loss\s*\d\.\d{3}/);
    assert.match(await page.locator('[data-testid=stages-table]').innerText(), /embed\s+embed\s+ran\s+\S+\s+10 \(10 \/ 0 \/ 0\)/);
    assert.match(await page.locator('#stage-fixlen').innerText(), /tt9000001\/tt9000001\.npy\s+\S+ KiB\s+<f4 \[8, 512\]\s+download/);
    await shot(page, 'run', true);
  });

  it('watches a live run advance: stages and training epochs update, then the new run joins the table', async () => {
    await page.goto(`${new URL(ui.url).origin}/#/live`);
    await page.waitForSelector('[data-testid=live-page]');
    const child = rig.spawn(['run', '-p', 'train.lr=0.005', '-p', 'train.epochs=3']);
    // train reruns (lr changed); the page follows the run's feed without a reload.
    await page.waitForSelector('[data-testid=live-stages] tr[data-stage=frames][data-state=cached]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=live-stages] tr[data-stage=train][data-state=running]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=live-banner]:has-text("running")');
    await page.locator('[data-testid=live-stages] tr[data-stage=train]').filter({ hasText: /epoch \d\/3/ }).waitFor({ timeout: 30_000 });
    await shot(page, 'live');
    assert.equal(await child.closed, 0);
    await page.waitForSelector('[data-testid=live-stages] tr[data-stage=metrics][data-state=ran]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=live-training] canvas');
    const banner = await page.waitForSelector('[data-testid=live-banner]:has-text("run finished")');
    const latest = (await api<{ rows: Array<{ run: string }> }>('/api/runs')).rows[0]!.run;
    assert.notEqual(latest, runs[0]);
    runs.push(latest);
    assert.match((await banner.innerText()) ?? '', new RegExp(latest.slice(0, 8)));
    await page.click('nav a[href="#/"]');
    await page.waitForSelector(`[data-testid=runs-table] tr[data-run="${latest}"]`);
  });

  it('sorts the runs table and compares two runs (params with differences only, per-genre AP deltas, curves overlaid)', async () => {
    await page.goto(`${new URL(ui.url).origin}/#/`);
    await page.waitForSelector(`[data-testid=runs-table] tr[data-run="${runs[1]}"]`);
    const order = () => page.$$eval('[data-testid=runs-table] tbody tr', (trs) => trs.map((t) => t.getAttribute('data-run')));
    assert.deepEqual(await order(), [runs[1], runs[0]], 'newest first');
    await page.click('th[data-key="param:train.lr"]');
    await page.waitForSelector('th[data-key="param:train.lr"]:has-text("▲")');
    await page.waitForSelector(firstRow(runs[0]!));
    assert.deepEqual(await order(), [runs[0], runs[1]], 'lr ascending: 0.001 first');
    await page.click('th[data-key="param:train.lr"]');
    await page.waitForSelector('th[data-key="param:train.lr"]:has-text("▼")');
    await page.waitForSelector(firstRow(runs[1]!));
    await page.fill('[data-testid=runs-filter]', 'train.lr=0.005');
    await page.waitForSelector('[data-testid=runs-count]:has-text("1–1 of 1")');
    await page.fill('[data-testid=runs-filter]', '');
    await page.waitForSelector('[data-testid=runs-count]:has-text("1–2 of 2")');
    await page.check('[data-testid=genre-columns]');
    await page.waitForSelector('th[data-key="metric:ap.Drama"]');
    await page.uncheck('[data-testid=genre-columns]');
    await page.waitForSelector('th[data-key="metric:ap.Drama"]', { state: 'detached' });
    for (const id of runs) await page.check(`tr[data-run="${id}"] input[type=checkbox]`);
    await shot(page, 'runs');
    await page.click('[data-testid=compare-button]');
    await page.waitForSelector('[data-testid=compare-page]');
    const params = await page.locator('[data-testid=compare-params]').innerText();
    assert.match(params, /train\.epochs\s+2\s+3/);
    assert.match(params, /train\.lr\s+0\.001\s+0\.005/);
    assert.doesNotMatch(params, /fixlen\.length/, 'differences only');
    await page.uncheck('[data-testid=diff-only]');
    assert.match(await page.locator('[data-testid=compare-params]').innerText(), /fixlen\.length\s+8\s+8/);
    const cmp = await api<{ ap: Array<{ genre: string; values: Array<number | null>; deltas: Array<number | null> }> }>(`/api/compare?runs=${runs.join(',')}`);
    const g = cmp.ap.find((x) => x.values[0] !== null && x.values[1] !== null)!;
    const row = await page.locator(`[data-testid=compare-ap] tr[data-genre="${g.genre}"]`).innerText();
    const d = (g.deltas[1]! * 100).toFixed(2);
    assert.match(row, new RegExp(`${(g.values[0]! * 100).toFixed(2)}\\s+${(g.values[1]! * 100).toFixed(2)}\\s+${Number(d) > 0 ? '\\+' : ''}${Number(d) === 0 ? '0\\.00' : d.replace('.', '\\.')}`));
    assert.equal(await page.locator('[data-testid=compare-training] canvas').count(), 1);
    assert.match(await page.locator('[data-testid=compare-training] .u-legend').innerText(), new RegExp(`${runs[0]!.slice(0, 8)} train loss[\\s\\S]*${runs[1]!.slice(0, 8)} train loss`));
    await page.check('[data-testid=diff-only]');
    await shot(page, 'compare', true);
  });

  it('draws the DAG; after a param change the changed stage is stale with its reason, and a click leads to its output', async () => {
    const conf = rig.path('conf/default.yaml');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^(\s+)lr: 0\.001\b/m, '$1lr: 0.002'));
    await page.goto(`${new URL(ui.url).origin}/#/dag`);
    await page.waitForSelector('[data-testid=dag-svg] [data-stage=train]', { timeout: 30_000 });
    const state = (s: string) => page.getAttribute(`[data-testid=dag-svg] [data-stage=${s}]`, 'data-state');
    assert.equal(await state('frames'), 'fresh');
    assert.equal(await state('embed'), 'fresh');
    assert.equal(await state('train'), 'stale');
    assert.equal(await state('metrics'), 'stale');
    await page.click('[data-testid=dag-svg] [data-stage=train]');
    const reasons = await page.locator('[data-testid=dag-reasons]').innerText();
    assert.match(reasons, /param train\.lr: 0\.005 -> 0\.002/);
    assert.match(reasons, /param train\.epochs: 3 -> 2/);
    await shot(page, 'dag');
    await page.click('[data-testid=dag-svg] [data-stage=embed]');
    assert.match(await page.locator('[data-testid=dag-detail]').innerText(), /fresh/);
    await page.click('[data-testid=dag-output-link]');
    await page.waitForSelector('[data-testid=run-page]');
    assert.equal(await page.textContent('[data-testid=run-id]'), runs[1]);
    await page.waitForSelector('details#stage-embed[open]');
    assert.deepEqual(errors, [], 'no errors in the page');
  });
});
