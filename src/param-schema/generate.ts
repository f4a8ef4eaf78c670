// Parameter schemas: the generated documents. conf/README.md's tables (regenerated between their
// markers, the prose around them kept) and the JSON Schema of conf/*.yaml, from the kinds'
// schemas; scripts/gen-conf-docs.mjs writes them, and a test fails when the committed files drift.
import type { JsonValue } from '../stage-api.js';
import type { ParamSchema, ParamSection, ParamSpec } from './types.js';
import { describeSpec } from './value.js';

/** Sections of several schemas, each once, in order of first appearance; one name must mean one declaration. */
export function allSections(schemas: Iterable<ParamSchema>): ParamSection[] {
  const out = new Map<string, ParamSection>();
  for (const s of schemas) {
    for (const section of s.sections) {
      const had = out.get(section.name);
      if (had && had !== section) throw new Error(`two declarations of the conf section '${section.name}'`);
      out.set(section.name, section);
    }
  }
  return [...out.values()];
}

function yamlFlow(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(yamlFlow).join(', ')}]`;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** conf/README.md's type column. */
export function typeColumn(spec: ParamSpec): string {
  if (spec.typeDoc) return cell(spec.typeDoc);
  if (spec.type === 'string' && spec.choices) return spec.choices.map((c) => `\`${c}\``).join(' \\| ');
  if (spec.type === 'string' && spec.examples) return spec.examples.map((c) => `\`${c}\``).join(' \\| ');
  if (spec.type === 'boolean') return 'boolean';
  return cell(describeSpec(spec).replace(/^an? /, ''));
}

/** One section's table: key, type, default, meaning. */
export function markdownTable(section: ParamSection): string {
  const rows = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const [k, spec] of Object.entries(section.params)) {
    const def = spec.defaultDoc ? cell(spec.defaultDoc) : `\`${cell(yamlFlow(spec.default as JsonValue))}\``;
    const doc = spec.perf && !/speed only/i.test(spec.doc) ? `${spec.doc} *Speed only.*` : spec.doc;
    rows.push(`| \`${section.name}.${k}\` | ${typeColumn(spec)} | ${def} | ${cell(doc)} |`);
  }
  return rows.join('\n');
}

const BEGIN = (name: string): string => `<!-- params:${name} (generated from the kinds' parameter schemas by npm run gen:conf; edit those, not this table) -->`;
const END = (name: string): string => `<!-- /params:${name} -->`;

/**
 * A README with each section's table regenerated between its markers; the prose around them is
 * kept. A section without markers, or markers of no section, is an error.
 */
export function renderConfReadme(text: string, sections: readonly ParamSection[]): string {
  let out = text;
  for (const s of sections) {
    const begin = out.indexOf(`<!-- params:${s.name} `);
    const end = out.indexOf(END(s.name));
    if (begin < 0 || end < begin) throw new Error(`conf/README.md has no markers for section '${s.name}': add ${BEGIN(s.name)} and ${END(s.name)} where its table goes`);
    out = `${out.slice(0, begin)}${BEGIN(s.name)}\n${markdownTable(s)}\n${out.slice(end)}`;
  }
  const names = new Set(sections.map((s) => s.name));
  for (const m of out.matchAll(/<!-- params:([\w-]+) /g)) {
    if (!names.has(m[1]!)) throw new Error(`conf/README.md has markers for '${m[1]}', which no kind declares`);
  }
  return out;
}

function jsonSchemaOf(spec: ParamSpec): Record<string, JsonValue> {
  const doc = spec.perf && !/speed only/i.test(spec.doc) ? `${spec.doc} Speed only.` : spec.doc;
  const out: Record<string, JsonValue> = {};
  switch (spec.type) {
    case 'int':
    case 'number':
      out.type = spec.type === 'int' ? 'integer' : 'number';
      if (spec.min !== undefined) out.minimum = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
      if (spec.type === 'number' && spec.exclusiveMin !== undefined) out.exclusiveMinimum = spec.exclusiveMin;
      if (spec.type === 'number' && spec.exclusiveMax !== undefined) out.exclusiveMaximum = spec.exclusiveMax;
      break;
    case 'string':
      out.type = 'string';
      if (spec.choices) out.enum = [...spec.choices];
      else out.minLength = 1;
      if (spec.examples) out.examples = [...spec.examples];
      break;
    case 'boolean':
      out.type = 'boolean';
      break;
    case 'list':
      out.type = 'array';
      out.items = spec.items === 'string' ? { type: 'string', minLength: 1 } : { type: 'number', ...(spec.itemMin !== undefined ? { minimum: spec.itemMin } : {}) };
      if (spec.minItems !== undefined) out.minItems = spec.minItems;
      if (spec.maxItems !== undefined) out.maxItems = spec.maxItems;
      break;
  }
  out.default = structuredClone(spec.default) as JsonValue;
  out.description = doc;
  return out;
}

/**
 * The JSON Schema (draft-07) of a parameter file: the declared sections with their keys, no key
 * required (a --conf layer names only what it changes), other sections allowed (cmd stages' own).
 */
export function confJsonSchema(sections: readonly ParamSection[], readers: ReadonlyMap<string, readonly string[]> = new Map()): Record<string, JsonValue> {
  const properties: Record<string, JsonValue> = {};
  for (const s of sections) {
    const by = readers.get(s.name);
    properties[s.name] = {
      type: 'object',
      ...(by && by.length > 0 ? { description: `Read by the ${by.length > 1 ? `${by.slice(0, -1).join(', ')} and ${by[by.length - 1]}` : by[0]} stage kind${by.length > 1 ? 's' : ''}.` } : {}),
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(s.params).map(([k, spec]) => [k, jsonSchemaOf(spec)])),
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'conf/*.yaml',
    description: 'A parameter file: conf/default.yaml, or a layer given with --conf. conf/README.md documents every key.',
    type: 'object',
    properties,
  };
}

/** Section name -> the kinds that own it, for the JSON Schema's descriptions. */
export function sectionReaders(schemas: ReadonlyMap<string, ParamSchema>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [kind, s] of schemas) for (const section of s.sections) out.set(section.name, [...(out.get(section.name) ?? []), kind]);
  return out;
}

/**
 * The generated documents of a set of kind schemas: the README with its tables regenerated, and
 * the JSON Schema of the conf files (as its file's text).
 */
export function confDocuments(readme: string, schemas: ReadonlyMap<string, ParamSchema>): { readme: string; jsonSchema: string } {
  const sections = allSections(schemas.values());
  return {
    readme: renderConfReadme(readme, sections),
    jsonSchema: `${JSON.stringify(confJsonSchema(sections, sectionReaders(schemas)), null, 2)}\n`,
  };
}
