// A remote cache: the same three things the local cache keeps, on a shared medium.
//
//   objects/<2 hex>/<14 hex>   content-addressed objects (name = XXH3-64 of the bytes)
//   results/<key>.json          result cache: a stage's or an item's cache key -> its output
//   runs/<id>.json              run index entries (the run record itself is an object)
//
// Two implementations: a folder on a shared file system (dir.ts) and an S3-compatible bucket
// (s3.ts). Both write atomically (a reader never sees a partial object) and write once (an
// existing object or entry is never overwritten). Existence is checked in bulk: one listing per
// prefix, never one request per object. Layout and guarantees: docs/DISTRIBUTED.md.
import type { Hash } from '../hash.js';

export type EntryPrefix = 'results' | 'runs';

export interface Remote {
  /** The URL as the user gave it, for messages. */
  readonly url: string;
  /** Every object hash present in the remote. */
  listObjects(): Promise<Set<Hash>>;
  /** Downloads an object to a local file (created; its folder exists). Throws RemoteMissing when absent. */
  getObject(hash: Hash, dest: string): Promise<void>;
  /** Uploads a local file as object `hash`. Atomic and write-once: false when it was present already. */
  putObject(hash: Hash, src: string, size: number): Promise<boolean>;
  /** Every key under results/ or runs/. */
  listEntries(prefix: EntryPrefix): Promise<Set<string>>;
  /** An entry's JSON, or undefined when absent. */
  getEntry(prefix: EntryPrefix, key: string): Promise<unknown>;
  /** Writes an entry once: false when it was present already. */
  putEntry(prefix: EntryPrefix, key: string, value: unknown): Promise<boolean>;
  close(): void;
}

export class RemoteMissing extends Error {
  override name = 'RemoteMissing';
}

/** Object key of a hash, the same layout as cache/objects. */
export function objectKey(hash: Hash): string {
  return `objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
}
