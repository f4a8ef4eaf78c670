import { resolve } from 'node:path';
import { writeDemoDataset } from '../data/demo.js';
import { UserError } from '../../src/errors.js';
import { openProject, type ProjectOptions } from '../../src/commands/common.js';
import { interruptSignal } from '../../src/commands/run.js';

/** `pipeline demo --to DIR`: the demo dataset in MovieNet's layout, from dataset.movies and dataset.seed. */
export async function demoCommand(opts: ProjectOptions & { to: string; json?: boolean }): Promise<number> {
  const project = openProject(opts);
  const movies = project.params.get('dataset.movies');
  const seed = project.params.get('dataset.seed');
  const kf = project.params.get('dataset.keyframes_dir');
  if (typeof movies !== 'number' || typeof seed !== 'number') {
    throw new UserError('dataset.movies and dataset.seed must be numbers', 'see conf/README.md');
  }
  const dir = resolve(process.cwd(), opts.to);
  const interrupt = interruptSignal((s) => process.stderr.write(`\n${s}\n`));
  try {
    let last = 0;
    const r = await writeDemoDataset(dir, {
      movies,
      seed,
      ...(typeof kf === 'string' ? { keyframesDir: kf } : {}),
      signal: interrupt.signal,
      onMovie: (done, total) => {
        if (Date.now() - last > 2000 || done === total) {
          last = Date.now();
          process.stderr.write(`${done}/${total} movies\n`);
        }
      },
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ movies: r.movies, frames: r.frames, to: dir })}\n`);
      return 0;
    }
    process.stdout.write(
      `wrote ${r.movies} movies (${r.frames} frames) in MovieNet layout to ${opts.to}\n` +
        `try it: pipeline run -p dataset.source=movienet -p dataset.root=${opts.to}\n`,
    );
    return 0;
  } finally {
    interrupt.dispose();
  }
}
