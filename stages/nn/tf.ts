// TensorFlow.js for the whole project: `import * as tf from '<this file>'` gives tfjs-core's ops
// and tfjs-layers' models under one name, as the `@tensorflow/tfjs` umbrella does, without the
// parts of it this project never uses (tfjs-converter, tfjs-data, the webgl backend and their
// dependencies). The umbrella is more than its re-exports, so what else it does is done here:
// - the cpu backend is registered (the wasm one and the native ones are imported by
//   ./backend.ts when chosen);
// - the ops' gradients: tfjs-layers' Node build registers all of tfjs-core's itself (its index
//   imports tfjs-core's register_all_gradients), test/train-tfjs.test.ts checks every one;
// - the chained ops, the Tensor methods (`x.add(y)`, `x.reshape(s)`): tfjs-core's Node build
//   leaves them out and they exist only as ES modules inside tfjs-core's dist/, which Node
//   loads as CommonJS, so scripts/build-tfjs.mjs bundles them at build time (`npm run build`,
//   `npm ci`, `npm test`) into ./tfjs-chained-ops.cjs beside this file's output;
// - tfjs-core's and tfjs-layers' exports come through ./tfjs-exports.js, which the same script
//   generates (names taken from require(): an ES import of these CommonJS packages cost a
//   quarter of a second per process in Node's scan of their sources), with the cpu backend.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
// Types only: the Tensor methods' declarations (module augmentations of tfjs-core's Tensor).
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';

export * from './tfjs-exports.js';

const chainedOps = fileURLToPath(new URL('./tfjs-chained-ops.cjs', import.meta.url));
if (!existsSync(chainedOps)) {
  throw new Error(`${chainedOps} is missing: it is built by \`npm run build\` (scripts/build-tfjs.mjs)`);
}
createRequire(import.meta.url)(chainedOps);
