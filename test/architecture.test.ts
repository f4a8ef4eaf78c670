// The shape of the code: the core (src/) knows no stage and no domain. It imports nothing from
// stages/ (the built-in kinds, commands and results reader reach it through src/registry.ts,
// registered by the composition root stages/main.ts), its modules import each other without
// cycles, and its text names no domain thing.
//
// The import graph comes from dependency-cruiser, run on the TypeScript sources (static, dynamic
// and type-only imports, resolved through tsconfig.json as tsc resolves them).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { PACKAGE_ROOT } from './helpers/rig.js';

let result: ICruiseResult;

const show = (v: IViolation): string => `${v.from} -> ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`;
const violations = (rule: string): string[] => result.summary.violations.filter((v) => v.rule.name === rule).map(show);

describe('architecture', () => {
  before(async () => {
    const tsConfigFile = join(PACKAGE_ROOT, 'tsconfig.json');
    const cwd = process.cwd();
    process.chdir(PACKAGE_ROOT);
    try {
      const r = await cruise(
        ['src', 'stages'],
        {
          baseDir: PACKAGE_ROOT,
          tsConfig: { fileName: tsConfigFile },
          // Type-only imports are in the graph too (a type from stages/ is knowledge of stages/).
          tsPreCompilationDeps: true,
          doNotFollow: { path: 'node_modules' },
          exclude: { path: 'node_modules' },
          validate: true,
          ruleSet: {
            forbidden: [
              { name: 'core-imports-domain', severity: 'error', from: { path: '^src/' }, to: { path: '^stages/' } },
              // A cycle of value imports (static or dynamic) decides what a module sees of another
              // while both load; type-only imports are erased by tsc and cannot.
              { name: 'import-cycle', severity: 'error', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
            ],
          },
        },
        { extensionAlias: { '.js': ['.ts', '.js'] } },
        { tsConfig: extractTSConfig(tsConfigFile) },
      );
      result = r.output as ICruiseResult;
    } finally {
      process.chdir(cwd);
    }
  });

  it('sees the whole graph: every module of src/ and stages/, with their relative imports resolved', () => {
    const sources = result.modules.map((m) => m.source);
    for (const f of ['src/cli.ts', 'src/registry.ts', 'src/spec.ts', 'stages/main.ts', 'stages/register.ts', 'stages/index.ts']) assert.ok(sources.includes(f), f);
    const unresolved = result.modules.flatMap((m) => m.dependencies.filter((d) => d.couldNotResolve && d.module.startsWith('.')).map((d) => `${m.source} -> ${d.module}`));
    assert.deepEqual(unresolved, []);
    // The composition root reaches the core and the kinds (lazily).
    const root = result.modules.find((m) => m.source === 'stages/index.ts')!;
    assert.ok(root.dependencies.some((d) => d.resolved === 'stages/embed.ts' && d.dynamic), 'kinds are imported dynamically');
  });

  it('src/ imports nothing from stages/', () => {
    assert.deepEqual(violations('core-imports-domain'), []);
  });

  it('no import cycles in src/ and stages/', () => {
    assert.deepEqual(violations('import-cycle'), []);
  });

  it('src/ names no domain thing (movies and genres are words of stages/)', () => {
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) {
          readFileSync(p, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/movie|genre/i.test(line)) hits.push(`${relative(PACKAGE_ROOT, p)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(join(PACKAGE_ROOT, 'src'));
    assert.deepEqual(hits, []);
  });
});
