// Artifacts: a collection's manifest and Merkle root, a tree's identity (volatile files left
// out), and the full file tree of an output. Pure except `treeOf`, which reads a manifest.
import { hashBytes, hashJson, type Hash } from '../hash.js';
import type { CachedStage, ItemErrorJson } from '../plan.js';
import type { Manifest, OutputRef } from '../runs.js';
import { isVolatile, type CollectionArtifact, type ItemOutput, type JsonValue, type Tree } from '../stage-api.js';
import type { Finished } from './view.js';

/** The root of a collection: the hash of its items' trees in id order. */
export function collectionRoot(items: ReadonlyMap<string, ItemOutput>): Hash {
  const roots: Record<string, Tree> = {};
  for (const [id, out] of items) roots[id] = out.tree;
  return hashJson(roots);
}

/** A map stage's artifact over these items, in id order (as the engine hands it on). */
export function collectionArtifact(items: ReadonlyMap<string, ItemOutput>): CollectionArtifact {
  const sorted = new Map([...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { type: 'collection', root: collectionRoot(sorted), items: sorted };
}

/**
 * A collection whose items are all known: its manifest (item inputs, outputs, remembered
 * failures) as text and hash, without writing it anywhere.
 */
export function finishCollection(
  stage: string,
  items: ReadonlyMap<string, ItemOutput | undefined>,
  inputs: ReadonlyMap<string, Hash | undefined>,
  failures: readonly ItemErrorJson[],
): Finished {
  const manifest: Manifest = { items: {} };
  const done = new Map<string, ItemOutput>();
  for (const [id, out] of items) {
    if (!out) throw new Error(`internal: item ${id} of ${stage} has no output`);
    manifest.items[id] = { in: inputs.get(id) ?? '', tree: out.tree, ...(out.meta ? { meta: out.meta } : {}) };
    done.set(id, out);
  }
  if (failures.length > 0) {
    manifest.errors = {};
    for (const f of failures) manifest.errors[f.item] = { in: inputs.get(f.item) ?? '', error: f };
  }
  const text = JSON.stringify(manifest);
  const root = collectionRoot(done);
  return { output: { type: 'collection', root, manifest: hashBytes(text) }, artifact: { type: 'collection', root, items: done }, manifest: text };
}

/** A whole-stage result: volatile files (timings) are not part of what the artifact is. */
export function finishTree(result: CachedStage): Finished {
  const identity: Tree = {};
  for (const [p, h] of Object.entries(result.tree)) if (!isVolatile(p, result.volatile)) identity[p] = h;
  const root = hashJson(identity);
  return {
    output: {
      type: 'tree',
      root,
      tree: result.tree,
      ...(result.meta ? { meta: result.meta } : {}),
      ...(result.volatile ? { volatile: result.volatile } : {}),
    },
    artifact: { type: 'tree', root, tree: result.tree, ...(result.meta ? { meta: result.meta } : {}) },
  };
}

/** A source item's input hash: what its cache key is made of. */
export function sourceInput(source: JsonValue): Hash {
  return hashJson(source);
}

/** All files of an output, relative to its base (a collection's items never share a path). */
export async function treeOf(output: OutputRef, readManifest: (hash: Hash) => Promise<Manifest>): Promise<Tree> {
  if (output.type === 'tree') return output.tree;
  return mergeItemTrees(Object.entries((await readManifest(output.manifest)).items));
}

export function mergeItemTrees(items: Iterable<[string, { tree: Tree }]>): Tree {
  const tree: Tree = {};
  for (const [id, it] of items) {
    for (const [p, h] of Object.entries(it.tree)) {
      if (tree[p] !== undefined && tree[p] !== h) throw new Error(`internal: two items write ${p} (one is ${id})`);
      tree[p] = h;
    }
  }
  return tree;
}
