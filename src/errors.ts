// Error kinds. A thrown Error that is none of these is a bug and is reported as
// "internal error" with its stack.

/** Results, not exceptions, where failure is an expected outcome. */
export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}

/**
 * A problem with one item's data (a movie): names the item, the file and the fix.
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

  /** "movie tt0120338: shot_0012_img_1.jpg: corrupt JPEG (fix: ...)" */
  describe(): string {
    const where = this.file === undefined ? '' : `${this.file}: `;
    const fix = this.hint === undefined ? '' : ` (${this.hint})`;
    return `movie ${this.item}: ${where}${this.message}${fix}`;
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

export function isUserFacing(e: unknown): e is ItemError | UserError {
  return e instanceof ItemError || e instanceof UserError;
}
