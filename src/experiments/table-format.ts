// The runs table as text (aligned columns), CSV (RFC 4180) and Markdown.
// Cells: params as their YAML-ish scalar text, metrics with full precision in CSV and four
// decimals elsewhere, n/a empty in CSV; the `identical` column holds the id of the first listed
// run with the same results.
import type { JsonValue } from '../stage-api.js';
import type { Column, RunsTable, TableRow } from './table.js';

export type TableFormat = 'text' | 'csv' | 'md';

function paramText(v: JsonValue | undefined): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function cell(row: TableRow, col: Column, format: TableFormat): string {
  switch (col.kind) {
    case 'run':
      return row.run;
    case 'time':
      return format === 'csv' ? row.time : row.time.slice(0, 16).replace('T', ' ');
    case 'state':
      return row.ok ? 'ok' : 'failed';
    case 'param':
      return paramText(row.params[col.key]);
    case 'metric': {
      const v = row.metrics[col.key];
      if (v === undefined || v === null) return format === 'csv' ? '' : 'n/a';
      return format === 'csv' ? String(v) : v.toFixed(4);
    }
  }
}

/**
 * One CSV record, RFC 4180: a field holding a comma, a quote, CR or LF is quoted and its quotes
 * doubled. Written out here (three lines) rather than adding a package for it; the tests parse
 * the output back with csv-parse.
 */
export function csvLine(fields: readonly string[]): string {
  return `${fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')}\r\n`;
}

export function renderTable(t: RunsTable, format: TableFormat): string {
  const withIdentical = t.rows.some((r) => r.identical !== undefined);
  const header = [...t.columns.map((c) => c.label), ...(withIdentical ? ['identical'] : [])];
  const body = t.rows.map((r) => [
    ...t.columns.map((c) => cell(r, c, format)),
    ...(withIdentical ? [r.identical === undefined ? '' : format === 'csv' ? r.identical : `= ${r.identical.slice(0, 8)}`] : []),
  ]);
  const right = [...t.columns.map((c) => c.kind === 'metric'), ...(withIdentical ? [false] : [])];
  if (format === 'csv') return [header, ...body].map(csvLine).join('');
  if (format === 'md') {
    const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const line = (cells: readonly string[]): string => `| ${cells.map(esc).join(' | ')} |`;
    const rule = `|${right.map((r) => (r ? '---:' : ':---')).join('|')}|`;
    return `${[line(header), rule, ...body.map(line)].join('\n')}\n`;
  }
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[fmt(header), ...body.map(fmt)].join('\n')}\n`;
}
