// A kind's code identity (src/code-identity.ts): the hash of its compiled module and of what it
// imports inside its package. It changes with a file the module reaches (through static imports,
// re-exports and literal dynamic imports), not with an unrelated file, a library, or the
// source-map comment; an import cycle ends.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { codeGraph, codeHash, computeCodeHash } from '../src/code-identity.js';

describe('code identity', () => {
  const root = mkdtempSync(join(tmpdir(), 'pipeline-code-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  write('package.json', '{"name": "kinds", "type": "module"}\n');
  // kind.js -> helper.js (static) -> lazy.js (literal dynamic import) -> deep.js (re-export)
  // -> kind.js (a cycle); plus a library, a builtin, a computed dynamic import, an import in a
  // string, and a file nothing imports.
  write(
    'dist/kind.js',
    [
      "import { readFileSync } from 'node:fs';",
      "import lib from '../node_modules/lib/index.js';",
      "import { helper } from './helper.js';",
      'const name = "x";',
      'export const load = () => import(`./plugins/${name}.js`);',
      'const text = "import(\'./unrelated.js\')";',
      'export default { helper, lib, readFileSync, text };',
      '//# sourceMappingURL=kind.js.map',
      '',
    ].join('\n'),
  );
  write('dist/helper.js', "export const helper = () => import('./sub/lazy.js');\n//# sourceMappingURL=helper.js.map\n");
  write('dist/sub/lazy.js', "export * from './deep.js';\n");
  write('dist/sub/deep.js', "import '../kind.js';\nexport const deep = 1;\n");
  write('dist/plugins/x.js', 'export const x = 1;\n');
  write('dist/unrelated.js', 'export const u = 1;\n');
  write('node_modules/lib/index.js', 'export default 1;\n');
  const kind = pathToFileURL(join(root, 'dist', 'kind.js')).href;

  it('covers the module and what it imports inside the package, cycle included, in path order', () => {
    assert.deepEqual(codeGraph(kind), { root, files: ['dist/helper.js', 'dist/kind.js', 'dist/sub/deep.js', 'dist/sub/lazy.js'] });
  });

  it('changes with a file reached through a static, a dynamic and a re-export import', () => {
    for (const [file, text] of [
      ['dist/helper.js', "export const helper = () => import('./sub/lazy.js');\nexport const more = 2;\n"],
      ['dist/sub/lazy.js', "export * from './deep.js';\nexport const lazy = 2;\n"],
      ['dist/sub/deep.js', "import '../kind.js';\nexport const deep = 2;\n"],
    ] as const) {
      const before = computeCodeHash(kind);
      write(file, text);
      assert.notEqual(computeCodeHash(kind), before, file);
    }
  });

  it('does not change with an unrelated file, a library, a file behind a computed import, or the source-map comment', () => {
    const before = computeCodeHash(kind);
    write('dist/unrelated.js', 'export const u = 2;\n');
    write('node_modules/lib/index.js', 'export default 2;\n');
    write('dist/plugins/x.js', 'export const x = 2;\n');
    write('dist/helper.js', "export const helper = () => import('./sub/lazy.js');\nexport const more = 2;\n//# sourceMappingURL=elsewhere.js.map\n");
    assert.equal(computeCodeHash(kind), before);
  });

  it('names the file and its path: moving a file changes the hash', () => {
    write('dist/a.js', "import './b.js';\n");
    write('dist/b.js', 'export const b = 1;\n');
    const a = pathToFileURL(join(root, 'dist', 'a.js')).href;
    const before = computeCodeHash(a);
    write('dist/a.js', "import './c.js';\n");
    write('dist/c.js', 'export const b = 1;\n');
    assert.notEqual(computeCodeHash(a), before);
  });

  it('is computed once per module per process', () => {
    write('dist/once.js', 'export const v = 1;\n');
    const once = pathToFileURL(join(root, 'dist', 'once.js')).href;
    const first = codeHash(once);
    write('dist/once.js', 'export const v = 2;\n');
    assert.equal(codeHash(once), first);
    assert.notEqual(computeCodeHash(once), first);
  });

  it("the train kind's code: its models, cold time", (t) => {
    const train = new URL('../stages/train.js', import.meta.url).href;
    const t0 = performance.now();
    const h = codeHash(train);
    const ms = performance.now() - t0;
    const files = codeGraph(train).files;
    t.diagnostic(`codeHash(stages/train.js) cold: ${ms.toFixed(1)} ms over ${files.length} files`);
    assert.match(h, /^[0-9a-f]{16}$/);
    for (const f of ['dist/stages/train.js', 'dist/stages/models/registry.js', 'dist/stages/models/reference.js', 'dist/stages/models/fit.js']) {
      assert.ok(files.includes(f), `${f} not in ${files.join(', ')}`);
    }
    assert.ok(!files.some((f) => f.includes('node_modules')));
  });
});
