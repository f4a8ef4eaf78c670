// Errors as text for people: an item failure as one line, any error as a stage's failure. The
// noun for an item is the kind's (src/registry.ts itemNoun), "item" by default.
import { ItemError, storageProblem, UserError } from '../errors.js';

export { formatItemError } from '../errors.js';

export function describeError(e: unknown, noun = 'item'): string {
  // A full disk or a read-only cache inside a stage is the machine's problem, said as one.
  e = storageProblem(e) ?? e;
  if (e instanceof ItemError) return e.describe(noun);
  if (e instanceof UserError) return `${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}`;
  if (e instanceof Error) return `internal error: ${e.stack ?? e.message}`;
  return `internal error: ${String(e)}`;
}
