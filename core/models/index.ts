/**
 * The model layer's public API: load a Hugging Face model's files onto a HAL, run it, generate.
 * Importing this module registers every architecture.
 */
import { bertArchitecture } from './bert';
import { clipArchitecture } from './clip';
import type {
  BertConfig,
  ClipConfig,
  Gpt2Config,
  LlamaConfig,
  VitConfig,
  WhisperConfig,
} from './config';
import { gpt2Architecture } from './gpt2';
import { llamaArchitecture } from './llama';
import { registerArchitecture } from './model';
import { readJsonFile } from './model-files';
import { vitArchitecture } from './vit';
import { whisperArchitecture } from './whisper';

registerArchitecture('bert', (c, p) => bertArchitecture(c as BertConfig, p));
registerArchitecture('vit', (c, p) => vitArchitecture(c as VitConfig, p));
registerArchitecture('gpt2', (c, p) => gpt2Architecture(c as Gpt2Config, p));
registerArchitecture('llama', (c, p) => llamaArchitecture(c as LlamaConfig, p));
registerArchitecture('clip', (c, p) => clipArchitecture(c as ClipConfig, p));
registerArchitecture('whisper', async (c, p, files) =>
  whisperArchitecture(c as WhisperConfig, p, await readJsonFile(files, 'preprocessor_config.json')),
);

export type { Family, ModelConfig } from './config';
export { MODEL_TYPES, parseConfig } from './config';
export type { GeneratedToken, GenerateOptions } from './generate';
export { generate, generateAll, seededRandom } from './generate';
export { KvCache } from './kv-cache';
export type { ForwardOptions, LoadOptions, Model, ModelInputs, Outputs, Stage } from './model';
export { loadModel } from './model';
export type { QuantizeOption, QuantizePlan } from './quantize';
