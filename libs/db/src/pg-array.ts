/**
 * A one-dimensional text array literal (`{"a","b"}`), for sending lists of different lengths row by row inside one
 * array parameter: node-postgres would turn nested JS arrays into a (rectangular) multi-dimensional array.
 */
export function pgArray(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
