// Parsers for option values, run by commander as it reads the command line: a bad value is a
// usage error (exit 2) that names the option and the valid form, before any command runs.
import { InvalidArgumentError, Option } from 'commander';

/** A whole number >= min (and <= max), written in decimal digits ("4"; not "4.5", "x", "1e3" or ""). */
export function wholeNumber(min: number, example: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    const v = value.trim();
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, e.g. ${example}`);
    }
    return n;
  };
}

/**
 * An option whose value is one of `values` (commander's choices: a bad value is a usage error,
 * exit 2, "Allowed choices are ...", and --help lists them).
 */
export function choiceOption(flags: string, description: string, values: readonly string[]): Option {
  return new Option(flags, description).choices(values);
}
