// Errors as text for people: an item failure as one line, any error as a stage's failure.
import { ItemError, storageProblem, UserError } from '../errors.js';
import type { ItemErrorJson } from '../plan.js';

export function formatItemError(e: ItemErrorJson): string {
  return `movie ${e.item}: ${e.file ? `${e.file}: ` : ''}${e.message}${e.hint ? ` (${e.hint})` : ''}`;
}

export function describeError(e: unknown): string {
  // A full disk or a read-only cache inside a stage is the machine's problem, said as one.
  e = storageProblem(e) ?? e;
  if (e instanceof ItemError) return e.describe();
  if (e instanceof UserError) return `${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}`;
  if (e instanceof Error) return `internal error: ${e.stack ?? e.message}`;
  return `internal error: ${String(e)}`;
}
