// Which ffmpeg the videos source runs: the system's when one is on PATH, else the binary shipped
// in the npm package @ffmpeg-installer/ffmpeg. Each case runs in a child process with its own
// PATH, extracts the keyframes of one real video, and says which binary it used.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parseInputInfo } from '../stages/data/videos.js';
import { makeVideo } from './helpers/data-videos.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

const run = promisify(execFile);
const temps = new TempFolders();
const packaged = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
const here = dirname(new URL(import.meta.url).pathname);
let videos = '';

before(() => {
  videos = temps.dir();
  makeVideo(join(videos, 'trailer.mp4'), [['red', 1], ['blue', 1]]);
});
after(() => temps.cleanup());

/** Runs the frames kind over `videos` in a child process whose PATH is `path` and FFMPEG_PATH unset. */
async function extractWith(path: string): Promise<{ origin: string; ffmpeg: string; version: string; env: Record<string, string>; frames: number; failures: string[] }> {
  const url = (p: string) => JSON.stringify(pathToFileURL(join(here, p)).href);
  const script = `
    const { findFfmpeg } = await import(${url('../stages/data/videos.js')});
    const frames = (await import(${url('../stages/frames.js')})).default;
    const h = await import(${url('../fixtures-lib/stage-ctx.js')});
    const temps = new h.TempFolders();
    try {
      const t = await findFfmpeg();
      const ctx = h.testContext(temps.workspace(), { stage: 'frames', params: { dataset: { source: 'videos', root: ${JSON.stringify(videos)} } }, declared: ['dataset', 'frames'] });
      const { sink } = await h.runSourceKind(frames, ctx);
      const env = await frames.env(ctx);
      const n = sink.outputs.get('trailer')?.meta?.frames ?? 0;
      console.log(JSON.stringify({ ...t, env, frames: n, failures: [...sink.failures.values()].map(String) }));
    } finally { temps.cleanup(); }
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
  delete env['FFMPEG_PATH'];
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('no ffmpeg on PATH: the npm package\'s binary extracts the frames, and its version is in the fingerprint', async () => {
  // PATH holds one empty folder: no system ffmpeg can be found (node runs by its full path).
  const r = await extractWith(temps.dir());
  assert.deepEqual(r.failures, []);
  assert.equal(r.origin, 'package');
  assert.equal(r.ffmpeg, packaged);
  assert.equal(r.frames, 6);
  const { stdout } = await run(packaged, ['-version']);
  assert.equal(r.env['ffmpeg'], stdout.split('\n')[0]!.trim());
});

test('an ffmpeg on PATH is used instead of the packaged one', async () => {
  const bin = temps.dir();
  const log = join(bin, 'calls.log');
  // A "system" ffmpeg: a wrapper that records each call and runs a real ffmpeg build.
  writeFileSync(join(bin, 'ffmpeg'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${packaged}' "$@"\n`);
  chmodSync(join(bin, 'ffmpeg'), 0o755);
  const r = await extractWith(bin);
  assert.deepEqual(r.failures, []);
  assert.equal(r.origin, 'system');
  assert.equal(r.ffmpeg, 'ffmpeg');
  assert.equal(r.frames, 6);
  assert.ok(existsSync(log), 'the system ffmpeg ran');
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  assert.ok(calls.some((c) => c.startsWith('-version')));
  assert.ok(calls.some((c) => c.includes('select=')), 'shot detection went through it');
  assert.ok(calls.some((c) => c.includes('-frames:v 1')), 'frame extraction went through it');
});

test('parseInputInfo reads duration, start and frame rate from ffmpeg\'s input dump', () => {
  const dump = [
    "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':",
    '  Duration: 00:01:02.50, start: 0.040000, bitrate: 57 kb/s',
    '    Stream #0:0(und): Audio: aac (LC), 44100 Hz, stereo, fltp, 128 kb/s (default)',
    '    Stream #0:1(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9], 4000 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)',
    'At least one output file must be specified',
  ].join('\n');
  assert.deepEqual(parseInputInfo(dump), { start: 0.04, duration: 62.5, fps: 29.97 });
  const noFps = "Input #0, matroska,webm, from 'b.mkv':\n  Duration: 00:00:03.50, bitrate: 6 kb/s\n    Stream #0:0: Video: mpeg4, none, 320x180, 1k tbn\n";
  assert.deepEqual(parseInputInfo(noFps), { start: 0, duration: 3.5, fps: undefined });
  const noDuration = "Input #0, matroska,webm, from 'c.mkv':\n  Duration: N/A, start: 0.000000, bitrate: N/A\n    Stream #0:0: Video: vp8, 10 fps\n";
  assert.ok(Number.isNaN((parseInputInfo(noDuration) as { duration: number }).duration));
  assert.deepEqual(parseInputInfo("Input #0, wav, from 'd.wav':\n  Duration: 00:00:01.00, bitrate: 1 kb/s\n    Stream #0:0: Audio: pcm_s16le\n"), { noVideo: true });
  assert.deepEqual(parseInputInfo('[mov @ 0x1] moov atom not found\nx.mp4: Invalid data found when processing input\n'), {
    error: '[mov @ 0x1] moov atom not found / x.mp4: Invalid data found when processing input',
  });
});
