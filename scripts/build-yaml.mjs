// Builds dist/vendor/yaml.js, which src/yaml.ts loads: the `yaml` package as one ES module.
// Under Node the package resolves to its CommonJS build, 72 files that Node loads one by one
// (each read, wrapped and scanned for its exports): about 35 ms of every command, a tenth of
// a `pipeline status` on a small workspace. The package's own ES-module build (the one its
// exports map gives outside Node; the same source, no Node APIs) bundled by esbuild loads in
// about 7 ms. The code is the installed package's; one line differs between its two builds,
// and the bundle takes the Node build's: warnings go to process.emitWarning (as
// "(node:PID) Warning: ..."), not console.warn.
//
//   node scripts/build-yaml.mjs     (run by `npm run build`, `npm ci` and `npm test`)
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'vendor', 'yaml.js');
mkdirSync(dirname(outfile), { recursive: true });
const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('yaml/package.json'));
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const t0 = performance.now();
await build({
  entryPoints: [join(pkgDir, 'browser', 'index.js')],
  bundle: true,
  platform: 'neutral',
  format: 'esm',
  target: 'node20',
  outfile,
  legalComments: 'none',
  banner: { js: `// yaml ${version} (ISC licence), its ES-module build bundled by scripts/build-yaml.mjs.` },
  logLevel: 'warning',
  plugins: [
    {
      name: 'yaml-node-warnings',
      setup(b) {
        b.onLoad({ filter: /[\\/]browser[\\/]dist[\\/]log\.js$/ }, (args) => {
          const source = readFileSync(args.path, 'utf8');
          const line = 'console.warn(warning);';
          if (!source.includes(line)) throw new Error(`${args.path}: no "${line}" to replace: yaml changed, check scripts/build-yaml.mjs`);
          return { contents: source.replace(line, "if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') process.emitWarning(warning); else console.warn(warning);"), loader: 'js' };
        });
      },
    },
  ],
});
console.log(`yaml: ${outfile.slice(root.length + 1)} built in ${(performance.now() - t0).toFixed(0)} ms`);
