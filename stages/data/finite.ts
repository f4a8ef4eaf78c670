// Finds NaN and ±Infinity in arrays read from the store, so a bad value is reported with the
// movie and the place it sits instead of flowing on into a sort or a loss.

/** Index of the first NaN or ±Infinity in `a`, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/** "NaN at row 3, column 17" for flat index i of a row-major [rows, cols] array. */
export function describeNonFinite(a: ArrayLike<number>, i: number, cols: number, row = 'row'): string {
  return `${a[i]} at ${row} ${Math.floor(i / cols)}, column ${i % cols}`;
}
