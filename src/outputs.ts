// Materialises artifacts as plain files (outputs/<stage>/..., or a cmd stage's declared outs).
// Incremental: a state file beside the outputs remembers which file holds which object (and
// the size and mtime it was written with), so an unchanged stage costs one stat per file and a
// changed one rewrites only the files that changed; a file edited in place since is rewritten.
// Only files this tool wrote are ever removed.
//
// A file is a copy of its store object, never the object itself: by reflink where the file
// system supports it (fs.copyFile with COPYFILE_FICLONE: Btrfs, XFS, APFS, ... share the blocks
// until one side is written, so the copy is about as cheap as a link), else by a plain copy.
// Hard links (`method: 'link'`, opt-in: `pipeline checkout --link`, or PIPELINE_CHECKOUT=link
// for every checkout and run) are cheapest but make each output file the cache object itself:
// an in-place edit of outputs/... (possible whatever the 0444 mode for root, in containers and
// CI) silently changes what later runs read from the cache, until `pipeline verify` finds it.
import { constants, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { UserError } from './errors.js';
import type { Hash } from './hash.js';
import type { Tree } from './stage-api.js';
import type { LocalStore } from './store.js';

/** How store objects become files: `copy` (reflink where possible, the default) or `link` (hard links). */
export type CheckoutMethod = 'copy' | 'link';
export const CHECKOUT_METHODS: readonly CheckoutMethod[] = ['copy', 'link'];

/** The method PIPELINE_CHECKOUT names (default copy); anything else is a user error. */
export function checkoutMethodFromEnv(env: NodeJS.ProcessEnv = process.env): CheckoutMethod {
  const v = env['PIPELINE_CHECKOUT'];
  if (v === undefined || v === '') return 'copy';
  if ((CHECKOUT_METHODS as readonly string[]).includes(v)) return v as CheckoutMethod;
  throw new UserError(`PIPELINE_CHECKOUT=${v}: not a checkout method`, `set it to ${CHECKOUT_METHODS.join(' or ')}, or unset it (copy)`);
}

/** Folder (under each base) that files are written in before they are renamed into place. */
const STAGING = '.pipeline-tmp';

/** Size and mtime (ms) of a file as written: a different one later means it was edited. */
type Written = [size: number, mtimeMs: number];

interface CheckoutState {
  /**
   * base folder (relative to the state file's folder) -> root hash and files written there,
   * with their size and mtime (absent in state files of earlier versions: checked by content).
   */
  [base: string]: { root: Hash; files: Tree; stats?: Record<string, Written> };
}

export class Checkout {
  /** Folder the bases are recorded relative to. */
  readonly dir: string;
  readonly #stateFile: string;
  readonly #store: LocalStore;
  #state: CheckoutState;
  #dirty = false;

  /** How objects become files under outputs/ (cmd stages' outs are always plain copies). */
  readonly method: CheckoutMethod;

  /**
   * `stateFile` remembers what was written; bases are recorded relative to `dir`. `method`
   * defaults to PIPELINE_CHECKOUT's (copy).
   */
  constructor(store: LocalStore, stateFile: string, dir: string, opts: { method?: CheckoutMethod } = {}) {
    this.#store = store;
    this.#stateFile = stateFile;
    this.dir = dir;
    this.method = opts.method ?? checkoutMethodFromEnv();
    try {
      this.#state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckoutState;
    } catch {
      this.#state = {};
    }
  }

  /**
   * Makes `base` (a folder, absolute) hold exactly `tree` as far as files this tool wrote go.
   * `link`: the files are the tool's (outputs/), materialised by `method`; false: user-owned
   * outs, always plain copies.
   */
  write(base: string, root: Hash, tree: Tree, opts: { link: boolean }): { written: number; removed: number } {
    const key = relative(this.dir, base) || '.';
    const prev = this.#state[key];
    const intact = (p: string): boolean => unchanged(join(base, p), prev?.stats?.[p]);
    if (prev !== undefined && prev.root === root && Object.keys(tree).every(intact)) {
      return { written: 0, removed: 0 };
    }
    const before = prev?.files ?? {};
    let removed = 0;
    for (const [p, h] of Object.entries(before)) {
      if (tree[p] === undefined || tree[p] !== h) {
        const f = join(base, p);
        if (existsSync(f)) {
          rmSync(f, { force: true });
          if (tree[p] === undefined) removed++;
          pruneEmptyDirs(dirname(f), base);
        }
      }
    }
    let written = 0;
    const stats: Record<string, Written> = {};
    // Each file is written in a staging folder of the base and renamed into place, so a reader
    // never sees half a file, and whatever a killed checkout left there is removed here, whichever
    // tree it was writing.
    const staging = join(base, STAGING);
    rmSync(staging, { recursive: true, force: true });
    for (const [p, h] of Object.entries(tree)) {
      const f = join(base, p);
      const known = before[p] === h ? prev?.stats?.[p] : undefined;
      if (before[p] === h && unchanged(f, known)) {
        if (known !== undefined) stats[p] = known;
        else {
          const st = statSync(f);
          stats[p] = [st.size, st.mtimeMs];
        }
        continue;
      }
      mkdirSync(dirname(f), { recursive: true });
      mkdirSync(staging, { recursive: true });
      const tmp = join(staging, String(written));
      const src = this.#store.path(h);
      if (opts.link && this.method === 'link') {
        try {
          linkSync(src, tmp);
        } catch {
          copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
        }
      } else {
        // FICLONE: a reflink where the file system can, else a plain copy (libuv falls back).
        copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
      }
      renameSync(tmp, f);
      const st = statSync(f);
      stats[p] = [st.size, st.mtimeMs];
      written++;
    }
    rmSync(staging, { recursive: true, force: true });
    this.#state[key] = { root, files: tree, stats };
    this.#dirty = true;
    return { written, removed };
  }

  /** Removes what this tool wrote under `base` (a stage that no longer exists). */
  clear(base: string): void {
    const key = relative(this.dir, base) || '.';
    const prev = this.#state[key];
    if (!prev) return;
    for (const p of Object.keys(prev.files)) {
      const f = join(base, p);
      rmSync(f, { force: true });
      pruneEmptyDirs(dirname(f), base);
    }
    delete this.#state[key];
    this.#dirty = true;
  }

  save(): void {
    if (!this.#dirty) return;
    mkdirSync(dirname(this.#stateFile), { recursive: true });
    const tmp = `${this.#stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.#state));
    renameSync(tmp, this.#stateFile);
    this.#dirty = false;
  }
}

/**
 * Whether the file is there as it was written: same size and mtime as recorded; without a
 * record (a state file of an earlier version), whether it exists.
 */
function unchanged(f: string, written: Written | undefined): boolean {
  let st;
  try {
    st = statSync(f);
  } catch {
    return false;
  }
  return written === undefined || (st.size === written[0] && st.mtimeMs === written[1]);
}

function pruneEmptyDirs(dir: string, stopAt: string): void {
  let d = dir;
  while (d.startsWith(stopAt + sep)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    d = dirname(d);
  }
}
