// TensorBoard event files: TFRecord-framed Event protobufs, the format of tf.summary and
// PyTorch's SummaryWriter. The first event carries the file version; each scalar is one
// event (wall_time, step, summary{value{tag, simple_value}}).
//
// The writer keeps the file in memory (the stage stores it as one object at the end) and can
// also append each event to a file as it goes, so that TensorBoard can follow a long run live.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DT_STRING, decodeEvent, encodeEvent, type EventMessage } from './proto.js';
import { decodeRecords, encodeRecord } from './tfrecord.js';

export const FILE_VERSION = 'brain.Event:2';

/** TensorBoard's event file name: it looks for "tfevents" in the name, and sorts by the timestamp. */
export function eventFileName(wallTime: number, host = 'pipeline'): string {
  return `events.out.tfevents.${Math.floor(wallTime)}.${host}`;
}

export class EventWriter {
  readonly #chunks: Buffer[] = [];
  readonly #livePath: string | undefined;
  readonly #now: () => number;

  /**
   * @param opts.livePath also append every event to this file as it is written
   * @param opts.now clock in seconds since the epoch (tests pass a fixed one)
   */
  constructor(opts: { livePath?: string; now?: () => number } = {}) {
    this.#livePath = opts.livePath;
    this.#now = opts.now ?? ((): number => Date.now() / 1000);
    if (this.#livePath !== undefined) {
      mkdirSync(dirname(this.#livePath), { recursive: true });
      writeFileSync(this.#livePath, '');
    }
    this.#write({ wallTime: this.#now(), step: 0, fileVersion: FILE_VERSION });
  }

  #write(e: EventMessage): void {
    const rec = encodeRecord(encodeEvent(e));
    this.#chunks.push(rec);
    if (this.#livePath !== undefined) appendFileSync(this.#livePath, rec);
  }

  /** Scalars of one step, e.g. {"loss/train": 0.41, "lr": 0.001}; non-finite values are skipped. */
  scalars(step: number, values: Record<string, number | null | undefined>): void {
    const value = Object.entries(values)
      .filter((kv): kv is [string, number] => typeof kv[1] === 'number' && Number.isFinite(kv[1]))
      .map(([tag, simpleValue]) => ({ tag, simpleValue }));
    if (value.length > 0) this.#write({ wallTime: this.#now(), step, summary: { value } });
  }

  /** A text summary (TensorBoard's Text tab renders it as Markdown). */
  text(step: number, tag: string, markdown: string): void {
    this.#write({
      wallTime: this.#now(),
      step,
      summary: {
        value: [
          {
            tag,
            metadata: { pluginData: { pluginName: 'text' }, dataClass: 2 },
            tensor: { dtype: DT_STRING, tensorShape: {}, stringVal: [Buffer.from(markdown, 'utf8')] },
          },
        ],
      },
    });
  }

  /** The whole file so far. */
  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

/** Reads an event file back (checks every record's CRCs): for tests and tools. */
export function readEvents(buf: Uint8Array, where = 'event file'): EventMessage[] {
  return decodeRecords(buf, where).map((r) => decodeEvent(r));
}
