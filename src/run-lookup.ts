// Finding a run by what a person typed (an id, a unique prefix, "latest"): an expected failure,
// so a value, not an exception. RunIndex.find returns a RunLookup; a caller switches on the
// error's kind (runLookupMessage is the one wording of each), or throws runNotFound(error) where
// a command cannot go on, which the CLI reports as a usage error (exit 2). No imports beyond
// errors.ts, so that the CLI can recognise RunNotFound without loading the run index.
import { unreachable, type Result } from './errors.js';

export type RunLookupError =
  /** "latest" (or "last", "head") in a workspace without runs. */
  | { kind: 'no-runs' }
  /** Not 1 to 16 hex digits. */
  | { kind: 'not-a-run-id'; input: string }
  | { kind: 'no-match'; input: string }
  /** Several runs start with the prefix (the first 8 of them, and whether there are more). */
  | { kind: 'ambiguous'; input: string; candidates: string[]; more: boolean };

export type RunLookup<T> = Result<T, RunLookupError>;

/** What to tell a person about a failed lookup, in one line. */
export function runLookupMessage(e: RunLookupError): string {
  switch (e.kind) {
    case 'no-runs':
      return 'no runs yet: run `pipeline run` first';
    case 'not-a-run-id':
      return `'${e.input}' is not a run id (16 hex digits, or a unique prefix; see \`pipeline runs\`)`;
    case 'no-match':
      return `no run matches '${e.input}' (see \`pipeline runs\`)`;
    case 'ambiguous':
      return `'${e.input}' is ambiguous: ${e.candidates.join(', ')}${e.more ? ', ...' : ''}`;
    default:
      return unreachable(e);
  }
}

/** A run that was asked for and is not there: a usage error (exit 2), with the lookup's reason when it has one. */
export class RunNotFound extends Error {
  override name = 'RunNotFound';
  readonly reason: RunLookupError | undefined;
  constructor(message: string, reason?: RunLookupError) {
    super(message);
    this.reason = reason;
  }
}

export function runNotFound(e: RunLookupError): RunNotFound {
  return new RunNotFound(runLookupMessage(e), e);
}
