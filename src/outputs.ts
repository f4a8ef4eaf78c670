// Materialises artifacts as plain files (outputs/<stage>/..., or a cmd stage's declared outs).
// Incremental: a state file beside the outputs remembers which file holds which object, so an
// unchanged stage costs nothing and a changed one rewrites only the files that changed. Only
// files this tool wrote are ever removed. Files under outputs/ are hard links to the read-only
// store objects (copies where links are impossible); a cmd stage's outs are copies, since
// they are the user's own files.
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Hash } from './hash.js';
import type { Tree } from './stage-api.js';
import type { LocalStore } from './store.js';

interface CheckoutState {
  /** base folder (relative to the state file's folder) -> root hash and files written there */
  [base: string]: { root: Hash; files: Tree };
}

export class Checkout {
  /** Folder the bases are recorded relative to. */
  readonly dir: string;
  readonly #stateFile: string;
  readonly #store: LocalStore;
  #state: CheckoutState;
  #dirty = false;

  /** `stateFile` remembers what was written; bases are recorded relative to `dir`. */
  constructor(store: LocalStore, stateFile: string, dir: string) {
    this.#store = store;
    this.#stateFile = stateFile;
    this.dir = dir;
    try {
      this.#state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckoutState;
    } catch {
      this.#state = {};
    }
  }

  /**
   * Makes `base` (a folder, absolute) hold exactly `tree` as far as files this tool wrote go.
   * `link`: hard-link store objects (outputs/) or copy them (user-owned outs).
   */
  write(base: string, root: Hash, tree: Tree, opts: { link: boolean }): { written: number; removed: number } {
    const key = relative(this.dir, base) || '.';
    const prev = this.#state[key];
    if (prev !== undefined && prev.root === root && Object.keys(tree).every((p) => existsSync(join(base, p)))) {
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
    for (const [p, h] of Object.entries(tree)) {
      const f = join(base, p);
      if (before[p] === h && existsSync(f)) continue;
      mkdirSync(dirname(f), { recursive: true });
      const tmp = `${f}.pipeline-tmp`;
      rmSync(tmp, { force: true });
      const src = this.#store.path(h);
      if (opts.link) {
        try {
          linkSync(src, tmp);
        } catch {
          copyFileSync(src, tmp);
        }
      } else {
        copyFileSync(src, tmp);
      }
      renameSync(tmp, f);
      written++;
    }
    this.#state[key] = { root, files: tree };
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
