/**
 * WebGPU in Node for tests and benchmarks: Dawn (npm `webgpu`) on Chromium's SwiftShader
 * Vulkan ICD, or on a real GPU where one is installed.
 *
 * It fails loudly when a Vulkan ICD is present but no adapter comes (a broken setup must not
 * turn GPU tests into silent skips). With no ICD at all, or TABPOOL_GPU=0, it reports why
 * there is no GPU and the suites run the CPU backend only, saying so.
 *
 * Dawn loads `libvulkan.so.1` with dlopen when the instance is created. Debian's Chromium ships
 * one in /usr/lib/chromium, which the dynamic loader only finds if LD_LIBRARY_PATH names that
 * directory when the process starts (setting it later has no effect), or if `libvulkan1` is
 * installed.
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export type NodeGpu =
  | { gpu: GPU; adapter: GPUAdapter; reason?: undefined }
  | { gpu: null; adapter: null; reason: string };

let pending: Promise<NodeGpu> | null = null;

async function open(): Promise<NodeGpu> {
  if (process.env.TABPOOL_GPU === '0')
    return { gpu: null, adapter: null, reason: 'disabled by TABPOOL_GPU=0' };
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD))
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const icd = process.env.VK_ICD_FILENAMES;
  const hasNvidia = existsSync('/dev/nvidia0');
  if (!icd && !hasNvidia) {
    return {
      gpu: null,
      adapter: null,
      reason: `no Vulkan ICD (${SWIFTSHADER_ICD} is missing; install chromium)`,
    };
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const flags = (process.env.TABPOOL_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error(
      `A Vulkan ICD is configured (${icd ?? 'NVIDIA'}) but Dawn found no adapter. Usually libvulkan.so.1 ` +
        'is not loadable: start Node with LD_LIBRARY_PATH=/usr/lib/chromium, or install libvulkan1.',
    );
  }
  return { gpu, adapter };
}

/** The process-wide Dawn instance and adapter (created once). */
export function nodeGpu(): Promise<NodeGpu> {
  pending ??= open();
  return pending;
}
