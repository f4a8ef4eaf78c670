// PNG plots do not depend on the machine's fonts: svgToPng draws text with the bundled DejaVu
// Sans and pinned fontconfig settings, whatever fontconfig configuration the environment names.
// Each rendering runs in its own process (fontconfig reads its configuration once per process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { apBarsSvg } from '../stages/report/plots.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

const temp = new TempFolders();
after(() => temp.cleanup());

const dist = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A report figure full of text: AP bars per genre with labels, legend and published figures. */
function figure(): string {
  const genres = ['Drama', 'Comedy', 'Thriller', 'Action', 'Romance', 'Horror', 'Crime', 'Sci-Fi'];
  const m = {
    model: 'reference',
    split: 'test',
    movies: 40,
    threshold: 0.5,
    per_genre: genres.map((genre, i) => ({ genre, support: 5 + i, precision: 0.5, recall: 0.4, f1: 0.44, ap: 0.3 + i / 20, tp: 2, fp: 2, fn: 3 })),
    mAP: 0.47,
    baseline: null,
  };
  return apBarsSvg(m as never);
}

function render(env: NodeJS.ProcessEnv, mode: 'bundled' | 'raw', svgFile: string): string {
  const script =
    mode === 'bundled'
      ? `const { svgToPng } = await import(${JSON.stringify(join(dist, 'stages', 'report', 'render.js'))}); const png = await svgToPng(readFileSync(${JSON.stringify(svgFile)}, 'utf8'));`
      : `const { default: sharp } = await import('sharp'); const png = await sharp(readFileSync(${JSON.stringify(svgFile)}), { density: 144 }).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { readFileSync } from 'node:fs'; import { createHash } from 'node:crypto'; ${script} console.log(createHash('sha256').update(png).digest('hex'));`], {
    encoding: 'utf8',
    cwd: join(dist, '..'),
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('PNG bytes are the same whatever fontconfig the environment has', () => {
  const dir = temp.dir('pipeline-plots-');
  const svgFile = join(dir, 'ap.svg');
  writeFileSync(svgFile, figure());
  // A machine without fonts, and a machine with other rendering settings (full hinting, subpixel).
  mkdirSync(join(dir, 'nofonts'));
  const conf = (name: string, body: string): string => {
    const f = join(dir, `${name}.conf`);
    writeFileSync(f, `<?xml version="1.0"?>\n<fontconfig>\n  <cachedir>${join(dir, 'cache')}</cachedir>\n${body}\n</fontconfig>\n`);
    return f;
  };
  const empty = conf('empty', `  <dir>${join(dir, 'nofonts')}</dir>`);
  const hinted = conf(
    'hinted',
    `  <dir>${join(dist, '..', 'stages', 'report', 'fonts')}</dir>\n  <match target="font"><edit name="hintstyle" mode="assign"><const>hintfull</const></edit><edit name="rgba" mode="assign"><const>rgb</const></edit><edit name="antialias" mode="assign"><bool>false</bool></edit></match>`,
  );
  const here = render({}, 'bundled', svgFile);
  assert.equal(render({ FONTCONFIG_FILE: empty }, 'bundled', svgFile), here, 'a machine without fonts draws the same PNG');
  assert.equal(render({ FONTCONFIG_FILE: hinted, HOME: dir }, 'bundled', svgFile), here, 'other hinting settings draw the same PNG');
  // Without the bundled configuration the environment does change the bytes: the test can fail.
  const rawEmpty = render({ FONTCONFIG_FILE: empty }, 'raw', svgFile);
  const rawHinted = render({ FONTCONFIG_FILE: hinted }, 'raw', svgFile);
  assert.notEqual(rawEmpty, rawHinted, 'sharp alone renders text by the machine\'s fonts and settings');
  assert.notEqual(rawEmpty, here);
});
