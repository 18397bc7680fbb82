/**
 * The tiny random-weight models the end-to-end suites load through the extension (a byte-level
 * GPT-2, a Llama with room for conversations, a BERT classifier), served from a Hugging
 * Face-shaped hub on 127.0.0.1, and the same models run in Node: what the browser must answer.
 */
import { modelFilesFromMap } from '../../core/models/model-files';
import { byteTokenizerFiles, randomModelFiles } from '../../core/models/testing/random-models';
import { createModelTasks } from '../../core/runtime/model-tasks';
import { createHal } from '../../kernels/hal/hal';
import type { TestHubServer } from '../../storage/test-hub-server';

export const MODEL_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'generation_config.json',
];

const sizes = {
  hidden: 32,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 64,
  vocab: 260,
  maxPositions: 128,
  labels: 3,
};

export const TINY_MODELS: Record<string, Record<string, Uint8Array | string>> = {
  'test/tiny-gpt2': { ...randomModelFiles('gpt2', sizes, 11, 0.6), ...byteTokenizerFiles() },
  // Conversations grow turn by turn and every byte is a token here: give it room.
  'test/tiny-llama': {
    ...randomModelFiles('llama', { ...sizes, maxPositions: 1024 }, 12, 0.6),
    ...byteTokenizerFiles(),
  },
  'test/tiny-bert': { ...randomModelFiles('bert', sizes, 13, 0.5), ...byteTokenizerFiles() },
};

/** Puts every tiny model on the hub under `main`. */
export function serveTinyModels(hub: TestHubServer): void {
  for (const [repo, files] of Object.entries(TINY_MODELS)) {
    for (const [name, body] of Object.entries(files)) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      hub.addFile(repo, 'main', name, bytes, name.endsWith('.safetensors'));
    }
  }
}

/** The same models run in Node on the CPU. */
export const reference = createModelTasks({
  hal: () => createHal(),
  files: (id) => modelFilesFromMap(id, TINY_MODELS[id.replace(/@main$/, '')] ?? {}),
});
export const quiet = { onProgress: () => {} };
