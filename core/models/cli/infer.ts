/**
 * `npm run infer -- <model-dir> --inputs <in.safetensors> --out <out.safetensors>
 *   [--backend cpu|webgpu] [--generate N] [--quantize int8|int4|int3|int2[:g64…]]`
 *
 * --quantize block-quantizes the Linear weights of GPT-2/Llama models at load (core/models/quantize.ts).
 * Runs a Hugging Face model directory on our kernels in Node (WebGPU through Dawn) and writes
 * every output under Hugging Face's names: last_hidden_state, pooler_output, logits,
 * hidden_states.<i> and, with --generate, generated_ids (int64, prompt + new tokens).
 * Whisper (inputs audio or input_features, optional decoder_input_ids) writes input_features,
 * encoder_last_hidden_state, encoder_/decoder_hidden_states.<i>, logits and, with --generate,
 * generated_ids as transformers' generate returns them for Whisper: new tokens only.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createHal, type Hal } from '../../../kernels/hal/hal';
import { parseQuantFormat } from '../../../kernels/quant/format';
import { cpuTensor, type Tensor } from '../../../kernels/tensor/tensor';
import { nodeGpu } from '../../../kernels/testing/node-gpu';
import { isTabpoolError } from '../../protocol/errors';
import { generateAll, loadModel, type ModelInputs } from '../index';
import { readJsonFile } from '../model-files';
import { modelFilesFromDir } from '../model-files-node';
import {
  parseSafetensorsHeader,
  readFloat32,
  readInt32,
  type WritableTensor,
  writeSafetensors,
} from '../safetensors';
import { parseWhisperGenerationConfig, transcribeIds } from '../whisper-generate';

interface Args {
  dir: string;
  inputs: string;
  out: string;
  backend: 'cpu' | 'webgpu';
  generate: number;
  /** A weight format for `loadModel`'s quantize option (e.g. int4, int8:g64). */
  quantize?: string;
}

const USAGE =
  'usage: npm run infer -- <model-dir> --inputs <in.safetensors> --out <out.safetensors> [--backend cpu|webgpu] [--generate N] [--quantize int8|int4|int3|int2]';

export function parseArgs(argv: readonly string[]): Args {
  const rest = [...argv];
  const flags = new Map<string, string>();
  const positional: string[] = [];
  while (rest.length) {
    const a = rest.shift() as string;
    if (a.startsWith('--')) {
      const v = rest.shift();
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      flags.set(a.slice(2), v);
    } else positional.push(a);
  }
  const dir = positional[0];
  const inputs = flags.get('inputs');
  const out = flags.get('out');
  if (!dir || !inputs || !out) throw new Error(USAGE);
  const backend = flags.get('backend') ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu') throw new Error(`--backend cpu|webgpu\n${USAGE}`);
  const generate = Number(flags.get('generate') ?? 0);
  if (!Number.isSafeInteger(generate) || generate < 0) throw new Error(`--generate N\n${USAGE}`);
  const quantize = flags.get('quantize');
  if (quantize !== undefined) {
    try {
      parseQuantFormat(quantize);
    } catch (e) {
      throw new Error(`--quantize: ${(e as Error).message}\n${USAGE}`);
    }
  }
  return { dir, inputs, out, backend, generate, quantize };
}

/**
 * Reads input_ids / attention_mask / token_type_ids / decoder_input_ids (as i32) and
 * pixel_values / audio / input_features (as f32).
 */
export function readInputs(bytes: Uint8Array): ModelInputs {
  const header = parseSafetensorsHeader(bytes, { file: 'inputs', fileSize: bytes.length });
  const inputs: ModelInputs = {};
  for (const [name, info] of header.tensors) {
    if (name === 'pixel_values' || name === 'audio' || name === 'input_features') {
      inputs[name] = cpuTensor(readFloat32(bytes, header, name), info.shape);
    } else if (
      name === 'input_ids' ||
      name === 'attention_mask' ||
      name === 'token_type_ids' ||
      name === 'decoder_input_ids'
    ) {
      inputs[name] = cpuTensor(readInt32(bytes, header, name), info.shape);
    }
  }
  return inputs;
}

export async function openHal(backend: 'cpu' | 'webgpu'): Promise<Hal> {
  if (backend === 'cpu') return createHal();
  const node = await nodeGpu();
  if (!node.gpu) throw new Error(`No WebGPU here: ${node.reason}`);
  const hal = await createHal({ gpu: node.gpu });
  if (!hal.gpu) throw new Error('Dawn gave no adapter');
  return hal;
}

export async function infer(args: Args): Promise<Record<string, WritableTensor>> {
  const hal = await openHal(args.backend);
  const files = modelFilesFromDir(args.dir);
  const model = await loadModel(files, hal, { quantize: args.quantize });
  const inputs = readInputs(new Uint8Array(await readFile(args.inputs)));
  const result: Record<string, WritableTensor> = {};
  const outputs = await model.forward(inputs, { hiddenStates: true });
  try {
    for (const [name, t] of outputs) {
      result[name] = {
        dtype: 'F32',
        shape: [...t.shape],
        data: (await hal.read(t)) as Float32Array,
      };
    }
  } finally {
    model.free(outputs);
  }
  if (args.generate > 0 && model.config.family === 'whisper') {
    // transformers' generate for Whisper: the new tokens only, the final eos removed.
    const gen = parseWhisperGenerationConfig(
      await readJsonFile(files, 'generation_config.json'),
      model.config,
    );
    const { generatedIds } = await transcribeIds(model, inputs, gen, {
      maxNewTokens: args.generate,
    });
    result.generated_ids = {
      dtype: 'I64',
      shape: [1, generatedIds.length],
      data: Int32Array.from(generatedIds),
    };
  } else if (args.generate > 0) {
    const ids = inputs.input_ids as Tensor;
    if (ids.shape[0] !== 1) throw new Error('--generate runs one prompt (batch 1)');
    const gen = await readJsonFile<{ eos_token_id?: number | number[] }>(
      files,
      'generation_config.json',
    );
    const eos = gen?.eos_token_id;
    const prompt = [...(ids.storage.backend === 'cpu' ? ids.storage.data : [])];
    const all = await generateAll(model, prompt, {
      maxNewTokens: args.generate,
      stopTokenIds: eos === undefined ? [] : Array.isArray(eos) ? eos : [eos],
    });
    result.generated_ids = {
      dtype: 'I64',
      shape: [1, all.length],
      data: Int32Array.from(all),
    };
  }
  model.dispose();
  return result;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const tensors = await infer(args);
  await writeFile(args.out, writeSafetensors(tensors));
  const names = Object.entries(tensors)
    .map(([n, t]) => `${n} [${t.shape.join(', ')}]`)
    .join('\n  ');
  console.log(
    `${args.dir} on ${args.backend} in ${(performance.now() - started).toFixed(0)} ms → ${args.out}\n  ${names}`,
  );
}

if (process.argv[1] && /infer\.(m?js|ts)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    console.error(
      isTabpoolError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : e,
    );
    process.exit(1);
  });
}
