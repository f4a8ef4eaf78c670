// Parsers for option values, run by commander as it reads the command line: a bad value is a
// usage error (exit 2) that names the option and the valid form, before any command runs.
import { InvalidArgumentError } from 'commander';

/** A whole number >= min, written in decimal digits ("4"; not "4.5", "x", "1e3" or ""). */
export function wholeNumber(min: number, example: string): (value: string) => number {
  return (value: string): number => {
    const v = value.trim();
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}, e.g. ${example}`);
    }
    return n;
  };
}
