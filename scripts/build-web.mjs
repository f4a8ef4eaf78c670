// Bundles the page (web/*.tsx, Preact + uPlot + dagre) with esbuild into dist/web/, which
// `pipeline ui` serves: one script, one stylesheet, index.html. Nothing loads from a CDN.
//
//   node scripts/build-web.mjs [--dev]    (--dev: not minified, inline source maps)
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const dev = process.argv.includes('--dev');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const t0 = performance.now();
await build({
  entryPoints: { app: join(root, 'web', 'main.tsx') },
  bundle: true,
  outdir: join(out, 'assets'),
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
});
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
console.log(`web: dist/web/ built in ${Math.round(performance.now() - t0)} ms`);
