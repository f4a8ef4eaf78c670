// The embed kind's parameters: the `embed.*` section, and `dataset.root` (frames read in place).
import { paramSchema, paramSection } from '../../src/param-schema/types.js';
import { PROVIDERS } from '../clip/onnx-model.js';
import { DATASET } from '../data/params.js';

export const ENCODERS = ['builtin', 'onnx'] as const;
export type EncoderName = (typeof ENCODERS)[number];

export const EMBED = paramSection('embed', {
  encoder: { type: 'string', choices: ENCODERS, default: 'builtin', doc: '`onnx`: CLIP ViT-B/32\'s image tower from `embed.model`, with OpenAI CLIP\'s preprocessing (the reference project\'s embeddings). `builtin`: a weight-free, deterministic 512-d descriptor of colour, light, texture and coarse shape computed with sharp; a baseline for the demo and for runs without the model, not CLIP.' },
  model: { type: 'string', typeDoc: 'path', says: 'a file path', default: 'models/clip-vit-base-patch32-vision.onnx', doc: '`onnx`: the model file, relative to the workspace or absolute. Input: one float32 tensor [batch,3,224,224]; output: embeddings [batch,D] (named `image_embeds` where there are several); names, D and a fixed batch size are read from the model. Not in the fingerprint as a path: the file\'s content hash is, so moving or renaming it re-embeds nothing, while another model re-embeds everything.' },
  provider: { type: 'string', choices: PROVIDERS, default: 'cpu', doc: '`onnx`: onnxruntime\'s execution provider. `webgpu` runs on Dawn over Vulkan (needs a GPU with a Vulkan driver); `cuda` needs onnxruntime-node\'s CUDA binaries (docs/EMBED.md). In the fingerprint: providers differ in the last bits. A provider that cannot start stops the stage with what to do.' },
  batch_size: { type: 'int', min: 1, max: 4096, perf: true, default: 32, doc: 'Frames per inference batch, filled across movie boundaries; also bounds the frames decoded ahead (two batches). Memory: about 3 x batch_size x 0.6 MB of batch buffers (`onnx`). A model exported with a fixed batch size uses its own. *Speed only*: on CPU the outputs are bit-identical for every batch size (tested).' },
  threads: { type: 'int', min: 0, says: 'an integer >= 0 (0: one per core)', perf: true, default: 0, doc: '`onnx` on CPU: onnxruntime\'s intra-op threads; 0 lets onnxruntime use one per physical core. *Speed only* (outputs bit-identical, tested).' },
  normalize: { type: 'boolean', default: false, doc: 'L2-normalise every row (a zero row stays zero). Off by default, as in the reference, whose `encode_image` output was not normalised.' },
});

export const EMBED_PARAMS = paramSchema({
  sections: [EMBED],
  reads: { 'dataset.root': DATASET.params.root },
  // batch_size and threads change speed only: on CPU onnxruntime's outputs are bit-identical
  // for any batch size and thread count (test/embed-onnx.test.ts checks it). embed.model is
  // left out because its content is in the fingerprint (inputs().model): moving or renaming the
  // file re-embeds nothing. dataset.root locates in-place frames, whose hashes are upstream.
  unfingerprinted: ['embed.model', 'dataset.root'],
});
