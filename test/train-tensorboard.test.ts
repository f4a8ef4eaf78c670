// TensorBoard event files: TFRecord framing with masked CRC32C, Event protobufs, read back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventWriter, eventFileName, FILE_VERSION, readEvents } from '../stages/nn/tensorboard/event-writer.js';
import { decodeRecords, encodeRecord, maskedCrc32c } from '../stages/nn/tensorboard/tfrecord.js';

describe('tensorboard event files', () => {
  it('frames records as TensorFlow does: every event file starts 18 00 .. 00 a3 7f 4b 22', () => {
    // The first record of a TensorFlow/PyTorch event file is the 24-byte file_version event;
    // its header (length 24, masked CRC32C of the length) is the same in every such file.
    const w = new EventWriter({ now: () => 1700000000.5 });
    const head = w.bytes().subarray(0, 12).toString('hex');
    assert.equal(head, '1800000000000000a37f4b22');
    assert.equal(maskedCrc32c(Buffer.from('123456789')), ((((0xe3069283 >>> 15) | (0xe3069283 << 17)) >>> 0) + 0xa282ead8) >>> 0);
  });

  it('writes scalars and text that read back with their tags, steps and values', () => {
    let t = 1700000000;
    const w = new EventWriter({ now: () => t++ });
    w.scalars(1, { 'loss/train': 0.5, 'loss/val': null, lr: 0.001, skipped: Number.NaN });
    w.scalars(2, { 'loss/train': 0.25 });
    w.text(0, 'config', '```yaml\ntrain:\n  lr: 0.001\n```');
    const events = readEvents(w.bytes());
    assert.equal(events.length, 4);
    assert.deepEqual(events[0], { wallTime: 1700000000, fileVersion: FILE_VERSION });
    assert.equal(events[1]!.step, 1);
    assert.equal(events[1]!.wallTime, 1700000001);
    assert.deepEqual(events[1]!.summary!.value.map((v) => [v.tag, v.simpleValue]), [['loss/train', 0.5], ['lr', Math.fround(0.001)]]);
    assert.deepEqual(events[2]!.summary!.value.map((v) => [v.tag, v.simpleValue]), [['loss/train', 0.25]]);
    const text = events[3]!.summary!.value[0]!;
    assert.equal(text.tag, 'config');
    assert.equal(text.metadata?.pluginData?.pluginName, 'text');
    assert.equal(text.tensor?.dtype, 7);
    assert.equal(Buffer.from(text.tensor!.stringVal![0]!).toString(), '```yaml\ntrain:\n  lr: 0.001\n```');
  });

  it('appends to a live file as it goes, byte for byte the same as the final file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tb-'));
    try {
      const path = join(dir, 'tb', eventFileName(1700000000));
      const w = new EventWriter({ livePath: path, now: () => 1700000000 });
      w.scalars(1, { a: 1 });
      assert.deepEqual(readFileSync(path), w.bytes());
      assert.match(path, /events\.out\.tfevents\.1700000000\.pipeline$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('detects corruption and truncation', () => {
    const a = encodeRecord(Buffer.from('hello'));
    const b = encodeRecord(Buffer.from('world!'));
    const file = Buffer.concat([a, b]);
    assert.deepEqual(decodeRecords(file).map((r) => r.toString()), ['hello', 'world!']);
    const bad = Buffer.from(file);
    bad[a.length + 13]! ^= 1; // a data byte of the second record
    assert.throws(() => decodeRecords(bad, 'f'), /f: bad data CRC in record at byte 21/);
    const badLen = Buffer.from(file);
    badLen[0]! ^= 1;
    assert.throws(() => decodeRecords(badLen), /bad length CRC at byte 0/);
    assert.throws(() => decodeRecords(file.subarray(0, file.length - 2)), /truncated record/);
  });
});
