// Writes the `uses` enum of schema/pipeline.schema.json from the stage-kind registry (the kinds
// stages/register.ts registers), so that editors with yaml-language-server offer exactly the
// kinds `pipeline` runs. Only that one line changes; the rest of the hand-written schema is kept
// as it is. Reads the compiled registry: build first (npm run build).
//
//   node scripts/gen-schema.mjs           rewrite the file when the enum differs
//   node scripts/gen-schema.mjs --check   exit 1 (saying why) when the committed file differs
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'schema', 'pipeline.schema.json');
const { registerBuiltins } = await import(pathToFileURL(join(root, 'dist', 'stages', 'register.js')).href);
const { kindNames } = await import(pathToFileURL(join(root, 'dist', 'src', 'registry.js')).href);
registerBuiltins();
const kinds = kindNames();

const text = readFileSync(file, 'utf8');
// The enum line inside "uses": { ... } of the stage definition.
const re = /("uses": \{[^{}]*?"enum": )\[[^\]]*\]/;
if (!re.test(text)) {
  process.stderr.write(`${file}: no "uses" enum found\n`);
  process.exit(2);
}
const next = text.replace(re, (_, head) => `${head}[${kinds.map((k) => JSON.stringify(k)).join(', ')}]`);
JSON.parse(next); // still JSON
if (process.argv.includes('--check')) {
  if (next !== text) {
    process.stderr.write(`schema/pipeline.schema.json: the "uses" enum differs from the registered kinds (${kinds.join(', ')}); run npm run gen-schema\n`);
    process.exit(1);
  }
} else if (next !== text) {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, file);
  process.stdout.write(`schema/pipeline.schema.json: uses = ${kinds.join(', ')}\n`);
}
