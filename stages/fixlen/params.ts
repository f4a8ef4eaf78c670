// The fixlen kind's parameters.
import { paramSchema, paramSection } from '../../src/param-schema/types.js';

// Declared here rather than beside the methods (methods.ts), so that loading a project checks
// fixlen.method without loading the methods and their random generator.
export const FIXLEN_METHODS = ['window', 'uniform', 'interpolate', 'pool'] as const;
export type FixlenMethod = (typeof FIXLEN_METHODS)[number];

export const FIXLEN = paramSection('fixlen', {
  length: { type: 'int', min: 1, default: 40, doc: 'L, the number of time steps every movie gets. 40 fits the demo\'s movies (8 to 40 frames), so no frame is cut and little is padding; the reference used 256 (`-p fixlen.length=256`), which on the demo is 85-96% zero rows and trains about 5.7x slower. For real MovieNet (hundreds of keyframes per movie) set it to the reference\'s 256.' },
  method: { type: 'string', choices: FIXLEN_METHODS, default: 'window', doc: '`window`: the reference\'s method, one random contiguous window of L frames when N >= L, otherwise the N frames after L - N zero rows (padding on the left). `uniform`: L evenly spaced frames (frame floor((i + 0.5) N / L)), repeated when N < L. `interpolate`: linear interpolation in time, first and last rows exactly the first and last frames. `pool`: adaptive average over L bins, bin i averaging frames floor(iN/L) to ceil((i+1)N/L) - 1 (as PyTorch\'s AdaptiveAvgPool1d).' },
  seed: { type: 'int', default: 0, doc: '`window` only: each movie\'s window is drawn from a generator seeded with this and the movie id, so it never depends on which other movies exist (the reference drew all windows from one global generator, seed 0, movie after movie).' },
});

export const FIXLEN_PARAMS = paramSchema({ sections: [FIXLEN] });
