// The `yaml` package as the CLI uses it, loaded from one bundled ES module
// (scripts/build-yaml.mjs says why: its CommonJS build cost every command ~35 ms to load).
// The types are the package's own; the values are the same package's code.
import { fileURLToPath } from 'node:url';
import type * as YAML from 'yaml';

const bundle = new URL('../vendor/yaml.js', import.meta.url);
const yaml = (await import(bundle.href).catch((e: unknown) => {
  throw new Error(`${fileURLToPath(bundle)} is missing: it is built by \`npm run build\` (scripts/build-yaml.mjs)`, { cause: e });
})) as typeof YAML;

export const { isMap, isScalar, isSeq, parse, parseDocument, stringify, visit } = yaml;
export const LineCounter = yaml.LineCounter;
export type LineCounter = YAML.LineCounter;
export type { Document, Node } from 'yaml';
