// schema/pipeline.schema.json's `uses` enum is generated from the stage-kind registry by
// scripts/gen-schema.mjs (npm run gen-schema); this fails when the committed file drifts from it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PACKAGE_ROOT } from './helpers/rig.js';

const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'gen-schema.mjs');

describe('gen-schema', () => {
  it('the committed schema lists exactly the registered kinds (node scripts/gen-schema.mjs --check)', () => {
    const r = spawnSync(process.execPath, [SCRIPT, '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('a drifted enum is found, and rewritten in place without touching the rest of the file', () => {
    // A copy of the package's script, schema and compiled registry.
    const dir = mkdtempSync(join(tmpdir(), 'pipeline-gen-schema-'));
    try {
      cpSync(join(PACKAGE_ROOT, 'scripts'), join(dir, 'scripts'), { recursive: true });
      cpSync(join(PACKAGE_ROOT, 'schema'), join(dir, 'schema'), { recursive: true });
      symlinkSync(join(PACKAGE_ROOT, 'dist'), join(dir, 'dist'));
      const file = join(dir, 'schema', 'pipeline.schema.json');
      const good = readFileSync(file, 'utf8');
      const drifted = good.replace(/("uses": \{[^{}]*?"enum": )\[[^\]]*\]/, '$1["frames", "old"]');
      assert.notEqual(drifted, good);
      writeFileSync(file, drifted);
      const check = spawnSync(process.execPath, [join(dir, 'scripts', 'gen-schema.mjs'), '--check'], { encoding: 'utf8' });
      assert.equal(check.status, 1);
      assert.match(check.stderr, /the "uses" enum differs from the registered kinds \(frames, labels, embed, fixlen, train, metrics\); run npm run gen-schema/);
      const gen = spawnSync(process.execPath, [join(dir, 'scripts', 'gen-schema.mjs')], { encoding: 'utf8' });
      assert.equal(gen.status, 0, gen.stderr);
      assert.equal(readFileSync(file, 'utf8'), good);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
