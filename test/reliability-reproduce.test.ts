// `pipeline reproduce` of a small demo run on "another machine" (a fontconfig that knows no font
// at all, where text would vanish from the PNG plots): every output hash matches, the plots
// included (docs/METRICS.md, "The PNG plots are deterministic").
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lastJson, PACKAGE_ROOT, Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

test('reproduce under other fonts (a machine whose fontconfig knows only another font) reports no plot mismatch', async () => {
  const rig = Rig.create({
    'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
    'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
  });
  rigs.push(rig);
  const small = ['-p', 'dataset.movies=12', '-p', 'train.epochs=1', '-p', 'fixlen.length=8', '-p', 'frames.max_frames=6'];
  const run = await rig.cli(['run', '--json', ...small]);
  assert.equal(run.code, 0, run.stderr);
  const id = lastJson<{ run: string }>(run.stdout).run;
  // The other machine: fontconfig finds no font at all (text would vanish from the PNGs).
  mkdirSync(rig.path('nofonts'));
  writeFileSync(rig.path('other-fonts.conf'), `<?xml version="1.0"?>\n<fontconfig>\n  <dir>${rig.path('nofonts')}</dir>\n  <cachedir>${rig.path('fc-cache')}</cachedir>\n</fontconfig>\n`);
  const rep = await rig.cli(['reproduce', id, '--no-cache', '--json'], { env: { FONTCONFIG_FILE: rig.path('other-fonts.conf') } });
  assert.equal(rep.code, 0, rep.stderr);
  const r = lastJson<{ identical: boolean; mismatches: Array<{ stage: string; path: string }> }>(rep.stdout);
  assert.deepEqual(r.mismatches, [], 'no output differs, the PNG plots included');
  assert.equal(r.identical, true);
});
