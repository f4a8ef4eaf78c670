// Error kinds. A thrown Error that is none of these is a bug and is reported as
// "internal error" with its stack.

/** Results, not exceptions, where failure is an expected outcome. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/**
 * A problem with one item's data: names the item, the file and the fix.
 * Handled by the stage's `on_error` policy: `fail` stops the run with this message, `skip`
 * leaves the item out, lists it in the run summary and record, and caches the failure so
 * an unchanged item is not retried until its input changes or `--force` is given.
 */
export class ItemError extends Error {
  readonly item: string;
  readonly file: string | undefined;
  readonly hint: string | undefined;
  constructor(item: string, message: string, opts: { file?: string; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ItemError';
    this.item = item;
    this.file = opts.file;
    this.hint = opts.hint;
  }

  /**
   * "item x1: frame_0012.jpg: corrupt JPEG (fix: ...)", with the word the stage's kind gives
   * its items instead of "item" (registry's itemNoun).
   */
  describe(noun = 'item'): string {
    const where = this.file === undefined ? '' : `${this.file}: `;
    const fix = this.hint === undefined ? '' : ` (${this.hint})`;
    return `${noun} ${this.item}: ${where}${this.message}${fix}`;
  }

  toJSON(): { item: string; file?: string; message: string; hint?: string } {
    return {
      item: this.item,
      ...(this.file === undefined ? {} : { file: this.file }),
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

/** An item's problem as one line, from an ItemError or its JSON form (run records, results). */
export function formatItemError(e: { item: string; file?: string | undefined; message: string; hint?: string | undefined }, noun = 'item'): string {
  return `${noun} ${e.item}: ${e.file ? `${e.file}: ` : ''}${e.message}${e.hint ? ` (${e.hint})` : ''}`;
}

/**
 * A problem the user fixes in configuration or environment (a bad parameter value, a missing
 * model file, ffmpeg not installed). Stops the stage; the message says what and how to fix it.
 */
export class UserError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UserError';
    this.hint = hint;
  }
}

/** A bad command-line value found once the command runs (e.g. a `--sort` column): exit 2, like a parse error. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'UsageError';
  }
}

export function isUserFacing(e: unknown): e is ItemError | UserError {
  return e instanceof ItemError || e instanceof UserError;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);
const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);
const SQLITE_FULL = new Set(['SQLITE_FULL']);
const SQLITE_NOT_WRITABLE = new Set(['SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_READONLY_DBMOVED', 'SQLITE_READONLY_DIRECTORY']);

/**
 * A full disk or a read-only folder met while writing (the cache, the outputs): a problem of
 * the machine, not a bug, so a UserError naming the file and the fix. Undefined for anything
 * else. Writes go to temporary files moved into place, so nothing half-written is ever used.
 */
export function storageProblem(e: unknown): UserError | undefined {
  if (!(e instanceof Error)) return undefined;
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const code = typeof err.code === 'string' ? err.code : '';
  const file = err.dest ?? err.path;
  const where = file === undefined ? '' : ` writing ${file}`;
  const sqlite = e.name === 'SqliteError' || code.startsWith('SQLITE_');
  if (NO_SPACE.has(code) || SQLITE_FULL.has(code) || (sqlite && /disk is full|database or disk is full/i.test(e.message))) {
    return new UserError(
      `no space left on the device${where || ' holding the workspace cache (cache/)'} (${code || e.message})`,
      'free space: `pipeline gc --keep-last N` removes the results of older runs (`--dry-run` says how much it frees), or move cache/ to a bigger disk (a symlink works); what was computed before is kept, and the next run continues from it',
    );
  }
  if (NOT_WRITABLE.has(code) || SQLITE_NOT_WRITABLE.has(code) || (sqlite && /unable to open database file|readonly database|read-only/i.test(e.message))) {
    const what = sqlite ? "the workspace's state database (cache/state.db)" : (file ?? 'a file');
    // EACCES/EPERM may come from a read as well: say "access" unless the call wrote.
    const writing = sqlite || code === 'EROFS' || /^(write|copyfile|rename|mkdir|unlink|rmdir|link|symlink|utime|chmod|fsync)/.test(err.syscall ?? '');
    return new UserError(
      `cannot ${writing ? 'write' : 'access'} ${what}: ${code === 'EROFS' ? 'the file system is read-only' : sqlite ? e.message : 'permission denied'} (${code || 'SqliteError'})`,
      'pipeline keeps its cache and run records in cache/ and needs to write there (also for status and runs): make the folder writable (chmod -R u+w cache), or work on a writable copy of the workspace',
    );
  }
  return undefined;
}
