// The embed pipeline: frames of many movies -> batches -> encoder -> per-movie [N,D] arrays.
//
// Frames stream through it in movie order. Each frame is decoded and preprocessed straight into
// a slot of a batch buffer (many at once, on sharp's threads); batches of `maxBatch` frames are
// filled across movie boundaries, so that small movies still make full batches; while one batch
// is in inference the next is being decoded. A movie's embeddings are handed on the moment its
// last frame is embedded, so that an interrupted run loses at most the movies in flight.
//
// Memory is bounded whatever the dataset: `prefetch + 2` batch buffers (one filling, `prefetch`
// decoding, one in inference), plus the [N,D] arrays of the movies that have frames in them.
import { readFile } from 'node:fs/promises';
import { hashBytes } from '../../src/hash.js';
import { ItemError, UserError } from '../../src/errors.js';
import type { FrameEncoder } from './encoder.js';

export interface FrameRef {
  /** Shown in messages: the keyframe's file name (or its path in the dataset). */
  name: string;
  /** Absolute path to read. */
  file: string;
  /** The content hash the frame list recorded: the bytes read are checked against it. */
  hash?: string;
}

/** A frame whose bytes are not those the frame list recorded (changed since it was indexed). */
export class FrameChanged extends Error {
  override name = 'FrameChanged';
}

/**
 * Reads a frame and checks it against its recorded hash (XXH3 at several GB/s: a small cost
 * beside decoding), so that a changed or different file (a dataset folder shared by workers and
 * edited since indexing) fails its movie instead of being embedded silently.
 */
async function readChecked(ref: FrameRef): Promise<string | Buffer> {
  if (ref.hash === undefined) return ref.file;
  const buf = await readFile(ref.file);
  const actual = hashBytes(buf);
  if (actual !== ref.hash) throw new FrameChanged(`the file changed since it was indexed (hash ${actual}, indexed as ${ref.hash})`);
  return buf;
}

export interface MovieSource {
  id: string;
  /** The movie's frames in order; read when the pipeline reaches the movie. */
  frames(): Promise<readonly FrameRef[]>;
}

export interface PipelineEvents {
  /** A movie's embeddings, [frames, dim] row-major; the array is the receiver's to keep. */
  done(id: string, embeddings: Float32Array, frames: number): Promise<void>;
  fail(id: string, error: unknown): Promise<void>;
  progress?(framesEmbedded: number): void;
}

export interface PipelineOptions {
  signal?: AbortSignal;
  /** Full batches being decoded ahead of the one in inference (default 1: enough while decoding is faster than inference). */
  prefetch?: number;
}

/** libvips reports a broken file in several lines, often repeated: one line, each reason once. */
export function decodeErrorMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const lines = [...new Set(raw.split('\n').map((l) => l.trim()).filter((l) => l.length > 0))];
  return lines.join('; ');
}

/** The fix for a frame the decoder refused: an image over the decompression limit is not damaged. */
export function decodeErrorHint(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  if (/exceeds pixel limit/i.test(raw)) {
    return "the image is larger than the decoder's limit of 268 megapixels (16383 x 16383) (a guard against decompression bombs): downscale it (the model sees 224 x 224), or skip the movie with on_error: skip";
  }
  return 'the file is damaged or not an image: replace it, or skip the movie with on_error: skip';
}

/** Finished movies whose storing may be under way at once. */
const MAX_PENDING_REPORTS = 32;

class Movie {
  out: Float32Array | undefined;
  remaining: number;
  failed = false;
  constructor(
    readonly id: string,
    readonly frames: readonly FrameRef[],
    dim: number,
  ) {
    this.out = new Float32Array(frames.length * dim);
    this.remaining = frames.length;
  }
}

interface Slot {
  movie: Movie;
  index: number;
}

interface Batch {
  buf: Float32Array;
  slots: Slot[];
  prepares: Promise<void>[];
}

/**
 * Embeds every frame of `movies`, reporting each movie through `events` as soon as it is
 * complete (or failed: a frame that cannot be decoded fails its movie with an ItemError naming
 * the frame; the other movies go on). Errors of the encoder itself (a provider failing mid-run)
 * stop the pipeline and are thrown. Returns the number of frames embedded.
 */
export async function runEmbedPipeline(
  encoder: FrameEncoder,
  movies: Iterable<MovieSource>,
  events: PipelineEvents,
  opts: PipelineOptions = {},
): Promise<{ frames: number }> {
  const { inputSize, dim, maxBatch } = encoder;
  const prefetch = Math.max(1, opts.prefetch ?? 1);
  const signal = opts.signal;
  const aborted = (): boolean => signal?.aborted === true;
  const free: Float32Array[] = [];
  // Reports to the receiver run alongside the pipeline; the first one that throws stops it.
  const reports = new Set<Promise<void>>();
  let reportError: { error: unknown } | undefined;
  let embedded = 0;

  const track = (p: Promise<void>): void => {
    const t: Promise<void> = p
      .catch((error: unknown) => {
        reportError ??= { error };
      })
      .finally(() => reports.delete(t));
    reports.add(t);
  };
  const checkReports = (): void => {
    if (reportError !== undefined) throw reportError.error;
  };
  const failMovie = (m: Movie, error: unknown): void => {
    if (m.failed) return;
    m.failed = true;
    m.out = undefined;
    track(events.fail(m.id, error));
  };

  async function* frames(): AsyncGenerator<Slot & { ref: FrameRef }> {
    for (const src of movies) {
      if (aborted()) return;
      let list: readonly FrameRef[];
      try {
        list = await src.frames();
      } catch (e) {
        // A configuration problem concerns every movie: stop rather than fail each one.
        if (e instanceof UserError) throw e;
        track(events.fail(src.id, e));
        continue;
      }
      if (list.length === 0) {
        track(
          events.fail(
            src.id,
            new ItemError(src.id, 'the movie has no frames to embed', { hint: 'check its frames (pipeline status), or skip it with on_error: skip' }),
          ),
        );
        continue;
      }
      const movie = new Movie(src.id, list, dim);
      for (let index = 0; index < list.length; index++) {
        if (movie.failed || aborted()) break;
        yield { movie, index, ref: list[index]! };
      }
    }
  }

  const newBatch = (): Batch => ({ buf: free.pop() ?? new Float32Array(maxBatch * inputSize), slots: [], prepares: [] });

  const consume = async (b: Batch): Promise<void> => {
    await Promise.all(b.prepares); // they never reject: a failure fails its movie instead
    checkReports();
    const live = b.slots.some((s) => !s.movie.failed);
    let buf = b.buf;
    if (live && !aborted()) {
      const r = await encoder.infer(buf, b.slots.length);
      buf = r.batch;
      const e = r.embeddings;
      b.slots.forEach((s, row) => {
        const m = s.movie;
        if (m.failed || m.out === undefined) return;
        m.out.set(e.subarray(row * dim, (row + 1) * dim), s.index * dim);
        if (--m.remaining === 0) {
          const out = m.out;
          m.out = undefined;
          track(events.done(m.id, out, m.frames.length));
        }
      });
      embedded += b.slots.length;
      events.progress?.(embedded);
    }
    free.push(buf);
  };

  const queue: Batch[] = [];
  let filling: Batch | undefined;
  try {
    for await (const f of frames()) {
      filling ??= newBatch();
      const b = filling;
      const k = b.slots.length;
      b.slots.push({ movie: f.movie, index: f.index });
      const movie = f.movie;
      const ref = f.ref;
      b.prepares.push(
        readChecked(ref).then((input) => encoder.prepare(input, b.buf.subarray(k * inputSize, (k + 1) * inputSize))).catch((e: unknown) => {
          if (e instanceof FrameChanged) {
            failMovie(movie, new ItemError(movie.id, e.message, { file: ref.name, hint: 'run the frames stage again so it re-indexes the movie (pipeline run re-hashes changed files)' }));
            return;
          }
          failMovie(
            movie,
            new ItemError(movie.id, `cannot decode the frame: ${decodeErrorMessage(e)}`, {
              file: ref.name,
              cause: e,
              hint: decodeErrorHint(e),
            }),
          );
        }),
      );
      if (b.slots.length === maxBatch) {
        queue.push(b);
        filling = undefined;
        while (queue.length > prefetch) await consume(queue.shift()!);
        // Finished movies wait for the store here if it is slower than the encoder, rather
        // than piling up in memory.
        while (reports.size > MAX_PENDING_REPORTS) await Promise.race(reports);
      }
    }
    if (filling !== undefined && filling.slots.length > 0) queue.push(filling);
    filling = undefined;
    while (queue.length > 0) await consume(queue.shift()!);
    await Promise.all([...reports]);
    checkReports();
  } catch (e) {
    // Let every decode still running finish writing before the buffers go away.
    await Promise.all([...queue, ...(filling === undefined ? [] : [filling])].flatMap((b) => b.prepares));
    await Promise.all([...reports]);
    throw e;
  }
  return { frames: embedded };
}
