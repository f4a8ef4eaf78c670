// schema/pipeline.schema.json's `uses` enum is generated from the stage-kind registry by
// scripts/gen-schema.mjs (npm run gen-schema); this fails when the committed file drifts from it.
// The build compiles the schema ahead of time (scripts/build-schema.mjs): reading a workspace
// then loads no ajv, and a registry with other kinds still gets a schema of its own kinds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from './helpers/rig.js';

const SCRIPT = join(PACKAGE_ROOT, 'scripts', 'gen-schema.mjs');

/** A child process that registers the built-in kinds (plus `extra`), reads `yaml` as a workspace and prints what it found. */
function readIn(yaml: string, extra?: string): { diagnostics: string[]; ajvLoaded: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-schema-read-'));
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), yaml);
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'default.yaml'), '{}\n');
    const url = (p: string): string => pathToFileURL(join(PACKAGE_ROOT, 'dist', p)).href;
    const script = `
      const { createRequire } = await import('node:module');
      (await import(${JSON.stringify(url('stages/register.js'))})).registerBuiltins();
      ${extra ? `(await import(${JSON.stringify(url('src/registry.js'))})).registerKind(${JSON.stringify(extra)}, { type: 'map', source: true, load: () => Promise.reject(new Error('not loaded')) });` : ''}
      const r = (await import(${JSON.stringify(url('src/spec.js'))})).readProject({ root: ${JSON.stringify(dir)}, readOnly: true });
      const require = createRequire(import.meta.url);
      const ajvLoaded = Object.keys(require.cache).some((k) => /[\\\\/]ajv[\\\\/]dist[\\\\/]ajv\\.js$/.test(k));
      console.log(JSON.stringify({ diagnostics: r.ok ? [] : r.error.diagnostics.map((d) => d.message), ajvLoaded }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { diagnostics: string[]; ajvLoaded: boolean };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

  it('reading a workspace uses the precompiled schema, and compiles one only for other kinds', () => {
    const ok = readIn('stages:\n  a:\n    uses: frames\n');
    assert.deepEqual(ok, { diagnostics: [], ajvLoaded: false });
    const bad = readIn('stages:\n  a:\n    uses: frames\n    dep: [b]\n  b:\n    uses: embedd\n');
    assert.equal(bad.ajvLoaded, false);
    assert.deepEqual(bad.diagnostics, ["unknown key 'dep' in stages.a (did you mean 'deps'?)", 'unknown stage kind "embedd" (did you mean \'embed\'?)']);
    // A kind the build did not know: ajv compiles the schema with it, here.
    const plugin = readIn('stages:\n  a:\n    uses: shots\n  b:\n    uses: shot\n', 'shots');
    assert.equal(plugin.ajvLoaded, true);
    assert.deepEqual(plugin.diagnostics, ['unknown stage kind "shot" (did you mean \'shots\'?)']);
  });
});
