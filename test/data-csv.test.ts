// The videos source's labels CSV, read by csv-parse: quoted fields, escaped quotes, a BOM, CRLF,
// extra columns under a header, comments and blank lines; malformed files are located errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLabelFile } from '../stages/data/label-file.js';
import { UserError } from '../src/errors.js';

const entries = (text: string): Array<[string, string[]]> => [...parseLabelFile(text, 'labels.csv').entries()];

test('quoted fields keep commas, and "" inside quotes is one quote', () => {
  assert.deepEqual(entries('id,genres\n"Crouching Tiger, Hidden Dragon",Action|Romance\n"the ""cut""",Drama\n'), [
    ['Crouching Tiger, Hidden Dragon', ['Action', 'Romance']],
    ['the "cut"', ['Drama']],
  ]);
  // a quoted field may span lines
  assert.deepEqual(entries('a,"Drama|\nComedy"\n'), [['a', ['Drama', 'Comedy']]]);
});

test('a BOM and CRLF line ends read like plain LF', () => {
  const lf = 'id,genres\nclip_a,Drama|Romance\nclip_b,Horror\n';
  const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}`;
  assert.deepEqual(entries(crlf), entries(lf));
  assert.deepEqual(entries(crlf), [['clip_a', ['Drama', 'Romance']], ['clip_b', ['Horror']]]);
  // a BOM before a header-less first line does not become part of the first id
  assert.deepEqual(entries('\uFEFFclip_a,Drama\r\n'), [['clip_a', ['Drama']]]);
});

test('with a header, columns are found by name and extra ones ignored', () => {
  assert.deepEqual(entries('title,id,year,genres\r\n"Heat, 1995",tt0113277,1995,Crime|Drama\r\n'), [['tt0113277', ['Crime', 'Drama']]]);
  assert.deepEqual(entries('ID,Genres,notes\nx,Comedy,"loud, funny"\n'), [['x', ['Comedy']]]);
  assert.throws(() => parseLabelFile('id,kind\nx,Comedy\n', 'labels.csv'), (e: unknown) => e instanceof UserError && /labels\.csv:1: the header names no 'genres' column/.test(e.message));
});

test('without a header, an extra column is a located error, not a misread', () => {
  assert.throws(
    () => parseLabelFile('a,Drama\nb,Drama,Comedy\n', 'labels.csv'),
    (e: unknown) => e instanceof UserError && e.message === 'labels.csv:2: 3 columns, expected 2 (id,genres)' && /separate genres with \|/.test(e.hint ?? ''),
  );
});

test('comments, blank and whitespace-only lines are skipped; fields are trimmed', () => {
  assert.deepEqual(entries('# my labels\n\n  \n a , Drama | Romance \n"b" , "Horror"\n'), [['a', ['Drama', 'Romance']], ['b', ['Horror']]]);
});

test('malformed CSV names the file and line', () => {
  assert.throws(() => parseLabelFile('a,Drama\nb,"Horror\n', 'labels.csv'), (e: unknown) => e instanceof UserError && /^labels\.csv:2: not valid CSV/.test(e.message));
  assert.throws(() => parseLabelFile('a,Drama\n,Comedy\n', 'labels.csv'), (e: unknown) => e instanceof UserError && e.message === 'labels.csv:2: empty movie id');
  assert.throws(() => parseLabelFile('a,Drama\r\nb\r\n', 'labels.csv'), (e: unknown) => e instanceof UserError && /^labels\.csv:2: expected 'id,genres'/.test(e.message));
  assert.throws(() => parseLabelFile('id,genres\r\na,Drama\r\n"a",Comedy\r\n', 'labels.csv'), (e: unknown) => e instanceof UserError && e.message === 'labels.csv:3: movie a is listed twice');
});

test('a JSON labels file listing a movie twice is an error (JSON.parse would keep the last silently)', () => {
  assert.throws(
    () => parseLabelFile('{"a": ["Drama"],\n "b": [],\n "a": ["Comedy"]}', 'labels.json'),
    (e: unknown) => e instanceof UserError && e.message === 'labels.json:3:2: movie a is listed twice',
  );
  assert.deepEqual([...parseLabelFile('{"a": ["Drama"], "b": []}', 'labels.json').keys()], ['a', 'b']);
});
