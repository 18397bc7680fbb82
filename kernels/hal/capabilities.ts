/**
 * What an adapter can do, read once from `GPUAdapter.features`, `.limits` and `.info`, as plain
 * data (it is logged, sent to the popup, and drives program choices such as matmul tiles).
 */
export interface Capabilities {
  vendor: string;
  architecture: string;
  description: string;
  shaderF16: boolean;
  subgroups: boolean;
  /** `chromium-experimental-subgroup-matrix`: WGSL matrix tiles on tensor cores / XMX. */
  subgroupMatrix: boolean;
  /**
   * The matrix shapes and types the adapter's subgroup matrices take (`GPUAdapterInfo.
   * subgroupMatrixConfigs` in Dawn/Chromium; empty without the feature).
   */
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  /** `GPUAdapterInfo.subgroupMinSize`/`subgroupMaxSize` (0 when not reported). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
  timestampQuery: boolean;
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupSizeX: number;
    maxComputeWorkgroupSizeY: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

/** One subgroup-matrix shape: left M×K and right K×N of `componentType`, result of `resultComponentType`. */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The parts of a GPUAdapter we read; a plain object in tests. */
export interface AdapterLike {
  readonly features: ReadonlySet<string>;
  readonly limits: GPUSupportedLimits;
  readonly info?: Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'description'>> & {
    readonly subgroupMinSize?: number;
    readonly subgroupMaxSize?: number;
    readonly subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
  };
}

/** Features we use when present; each op's program checks the capability it needs. */
const OPTIONAL_FEATURES = [
  'shader-f16',
  'subgroups',
  'chromium-experimental-subgroup-matrix',
  'timestamp-query',
] as const;

export function detectCapabilities(adapter: AdapterLike): Capabilities {
  const l = adapter.limits;
  return {
    vendor: adapter.info?.vendor ?? '',
    architecture: adapter.info?.architecture ?? '',
    description: adapter.info?.description ?? '',
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    subgroupMatrix: adapter.features.has('chromium-experimental-subgroup-matrix'),
    subgroupMatrixConfigs: (adapter.info?.subgroupMatrixConfigs ?? []).map((c) => ({
      componentType: c.componentType,
      resultComponentType: c.resultComponentType,
      M: c.M,
      N: c.N,
      K: c.K,
    })),
    subgroupMinSize: adapter.info?.subgroupMinSize ?? 0,
    subgroupMaxSize: adapter.info?.subgroupMaxSize ?? 0,
    timestampQuery: adapter.features.has('timestamp-query'),
    limits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

/**
 * The device we ask for: every optional feature the adapter has, and the adapter's own buffer
 * and workgroup limits (the defaults are far lower: 128 MiB bindings, 16 KiB workgroup memory).
 */
export function deviceDescriptor(adapter: AdapterLike): GPUDeviceDescriptor {
  const l = adapter.limits;
  return {
    requiredFeatures: OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[],
    requiredLimits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  };
}
