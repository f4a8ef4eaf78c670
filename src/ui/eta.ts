// Rate and ETA of a stage's own progress (training epochs, scoring batches), as the item bars
// have for items: measured from the first update of a phase, where a phase restarts when the
// total changes or `done` goes back (the baseline model's epochs after the main model's).

export interface Eta {
  /** Seconds left, once two updates of the phase have been seen and progress was made. */
  seconds?: number;
}

export class ProgressEta {
  readonly #phases = new Map<string, { t0: number; d0: number; total: number; last: number }>();

  update(stage: string, done: number, total: number, now = Date.now()): Eta {
    const p = this.#phases.get(stage);
    if (p === undefined || p.total !== total || done < p.last) {
      this.#phases.set(stage, { t0: now, d0: done, total, last: done });
      return {};
    }
    p.last = done;
    const secs = (now - p.t0) / 1000;
    if (done <= p.d0 || secs <= 0) return {};
    return { seconds: Math.max(0, ((total - done) * secs) / (done - p.d0)) };
  }
}
