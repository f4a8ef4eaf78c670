// The frames kind's parameters: the `frames.*` section, and the `dataset.*` section it shares
// with labels (data/params.ts).
import { paramSchema, paramSection } from '../../src/param-schema/types.js';
import { DATASET } from '../data/params.js';

export const FRAMES = paramSection('frames', {
  images_per_shot: { type: 'int', min: 1, max: 3, typeDoc: '1, 2 or 3', default: 3, doc: 'Images kept per shot: 1 keeps the middle one (MovieNet\'s `img_1`), 2 the first and last (`img_0`, `img_2`), 3 all three. Shots with fewer images keep what they have.' },
  stride: { type: 'int', min: 1, default: 1, doc: 'Keep every k-th shot, counted by position in the movie (gaps in shot numbers do not matter).' },
  max_frames: { type: 'int', min: 0, default: 0, doc: '0 keeps all; otherwise at most this many frames per movie, after the two keys above: the frame at the centre of each of `max_frames` equal slices of the movie.' },
  scene_threshold: { type: 'number', exclusiveMin: 0, exclusiveMax: 1, default: 0.3, doc: '`videos`, shot detection: ffmpeg\'s scene-change score (`select=\'gt(scene,T)\'`) above which a frame starts a new shot. Lower finds more shots. Each shot gives 3 frames, at 1/6, 1/2 and 5/6 of its length.' },
  fps: { type: 'number', min: 0, default: 0, doc: '`videos`: 0 detects shots as above; a positive rate takes one frame every 1/fps seconds instead, each its own shot (`shot_XXXX_img_0.jpg`).' },
});

export const FRAMES_PARAMS = paramSchema({
  sections: [DATASET, FRAMES],
  // None of these changes an item's output: the data's location (content hashes pin the data,
  // so moving it invalidates nothing), how many demo movies there are (each movie's frames
  // depend only on its seed and index: adding movies adds items), and files only labels reads.
  unfingerprinted: ['dataset.root', 'dataset.movies', 'dataset.split_file', 'dataset.labels_file'],
});
