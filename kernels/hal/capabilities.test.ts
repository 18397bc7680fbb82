import { describe, expect, it } from 'vitest';
import { type AdapterLike, detectCapabilities, deviceDescriptor } from './capabilities';

const limits = {
  maxBufferSize: 2 ** 30,
  maxStorageBufferBindingSize: 2 ** 30,
  maxStorageBuffersPerShaderStage: 12,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
} as unknown as GPUSupportedLimits;

const adapter = (features: string[]): AdapterLike => ({
  features: new Set(features),
  limits,
  info: { vendor: 'nvidia', architecture: 'hopper', description: 'H100' },
});

describe('detectCapabilities', () => {
  it('reads features, limits and adapter info', () => {
    const caps = detectCapabilities(
      adapter(['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']),
    );
    expect(caps).toMatchObject({
      vendor: 'nvidia',
      shaderF16: true,
      subgroups: true,
      subgroupMatrix: true,
      timestampQuery: false,
    });
    expect(caps.limits.maxComputeWorkgroupStorageSize).toBe(32768);
  });

  it('reports missing features as false', () => {
    const caps = detectCapabilities(adapter([]));
    expect([caps.shaderF16, caps.subgroups, caps.subgroupMatrix, caps.timestampQuery]).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('deviceDescriptor', () => {
  it('asks only for features the adapter has, and its own limits', () => {
    const d = deviceDescriptor(adapter(['subgroups', 'texture-compression-bc', 'timestamp-query']));
    expect(d.requiredFeatures).toEqual(['subgroups', 'timestamp-query']);
    expect(d.requiredLimits?.maxStorageBufferBindingSize).toBe(2 ** 30);
  });
});
