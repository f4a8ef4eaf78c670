// For the `pipeline ui` tests: a tiny demo workspace, headless Chromium (Debian's, driven by
// playwright-core; never downloaded) and screenshots.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PACKAGE_ROOT, Rig } from './rig.js';

export const CHROMIUM = process.env.PIPELINE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** The default pipeline on a few demo movies with short training: seconds per run. */
export function tinyDemo(extra: Record<string, Record<string, unknown>> = {}): Rig {
  const conf = parse(readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  Object.assign(conf.dataset!, { movies: 10 });
  Object.assign(conf.frames!, { max_frames: 4, images_per_shot: 1 });
  Object.assign(conf.fixlen!, { length: 8 });
  Object.assign(conf.train!, { epochs: 2, hidden: 16 });
  for (const [k, v] of Object.entries(extra)) Object.assign((conf[k] ??= {}), v);
  return Rig.create({
    'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
    'conf/default.yaml': stringify(conf),
  });
}

export async function launch(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'pipeline-ui-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1300, height: 900 },
  });
}

/** Saves a screenshot under $UI_SCREENSHOTS (docs/ui/ when refreshing the docs), else a temp folder. */
export async function shot(page: Page, name: string, fullPage = false): Promise<string> {
  const dir = process.env.UI_SCREENSHOTS ?? join(tmpdir(), 'pipeline-ui-shots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/** Collects page errors so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}
