// The metrics kind's parameters.
import { paramSchema, paramSection } from '../../src/param-schema/types.js';
import { SPLITS } from '../data/labels-files.js';

export const METRICS = paramSection('metrics', {
  split: { type: 'string', choices: SPLITS, default: 'test', doc: 'The split scored. When `test` is asked for and the split has no test movies, `val` is scored instead; metrics.json (`split`, `requested_split`) and the summary say so.' },
  threshold: { type: 'number', exclusiveMin: 0, exclusiveMax: 1, default: 0.5, doc: 'A genre is predicted for a movie when its score is >= this: the operating point of precision, recall and F1 (AP does not depend on it).' },
  batch_size: { type: 'int', min: 1, perf: true, default: 32, doc: 'Movies whose features are read and scored together. *Speed only.*' },
});

export const METRICS_PARAMS = paramSchema({ sections: [METRICS] });
