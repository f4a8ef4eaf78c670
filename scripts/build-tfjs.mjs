// Builds dist/stages/nn/tfjs-chained-ops.cjs, which stages/nn/tf.ts loads: tfjs-core's chained
// ops, the Tensor methods (`x.add(y)`, `x.reshape(s)`, ...). tfjs-core's Node build leaves
// them out; the `@tensorflow/tfjs` umbrella bundles them, but it also brings tfjs-converter,
// tfjs-data, the webgl backend and their dependencies, which this project never uses. They ship
// only as ES modules inside tfjs-core's dist/, a package Node loads as CommonJS, so they cannot
// be imported as they are: esbuild bundles them, as the umbrella's own build does.
//
// `@tensorflow/tfjs-core` stays external (the bundle requires the installed package). The
// internal modules the methods import (their ops, the engine and Tensor modules) are copied in;
// that is sound because tfjs keeps its state (engine, kernel and gradient registries, the
// Tensor class the methods are added to) in one global object shared by every copy.
//
//   node scripts/build-tfjs.mjs     (run by `npm run build`, `npm ci` and `npm test`)
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist', 'stages', 'nn', 'tfjs-chained-ops.cjs');
mkdirSync(dirname(outfile), { recursive: true });
const t0 = performance.now();
await build({
  stdin: {
    // tfjs-core first, so that its Tensor class is the global one the methods are added to.
    contents: [
      "import '@tensorflow/tfjs-core';",
      "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';",
    ].join('\n'),
    resolveDir: root,
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [
    {
      // `external: ['@tensorflow/tfjs-core']` would also keep its dist/ files external.
      name: 'tfjs-core-external',
      setup(b) {
        b.onResolve({ filter: /^@tensorflow\/tfjs-core$/ }, (args) => ({ path: args.path, external: true }));
      },
    },
  ],
});
console.log(`tfjs: dist/stages/nn/tfjs-chained-ops.cjs built in ${Math.round(performance.now() - t0)} ms`);
