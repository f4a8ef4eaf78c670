// Regenerates what the stage kinds' parameter schemas (StageKind.params, src/param-schema/)
// document: the tables of conf/README.md, between their `<!-- params:SECTION ... -->` markers
// (the prose around them is kept), and schema/conf.schema.json, the JSON Schema of conf/*.yaml
// that editors with yaml-language-server use. Reads the compiled schemas: build first.
//
//   node scripts/gen-conf-docs.mjs           rewrite the files that differ (npm run gen:conf)
//   node scripts/gen-conf-docs.mjs --check   exit 1 (saying which) when a committed file differs
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const load = (p) => import(pathToFileURL(join(root, 'dist', ...p.split('/'))).href);
const { registerBuiltins } = await load('stages/register.js');
const { confDocuments } = await load('src/param-schema/generate.js');
const { kindParamSchemas } = await load('src/registry.js');
registerBuiltins();

const readmeFile = join(root, 'conf', 'README.md');
const schemaFile = join(root, 'schema', 'conf.schema.json');
const read = (f) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
const docs = confDocuments(read(readmeFile), kindParamSchemas());
const check = process.argv.includes('--check');
let stale = 0;
for (const [file, text] of [
  [readmeFile, docs.readme],
  [schemaFile, docs.jsonSchema],
]) {
  if (read(file) === text) continue;
  const rel = file.slice(root.length + 1);
  if (check) {
    process.stderr.write(`${rel} differs from the kinds' parameter schemas; run npm run gen:conf\n`);
    stale++;
    continue;
  }
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
  process.stdout.write(`${rel}: written\n`);
}
if (stale > 0) process.exit(1);
