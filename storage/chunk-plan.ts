/**
 * Where a file is cut into chunks. Plain files are cut every `chunkBytes`. Safetensors files are
 * cut at tensor boundaries first (the header is one chunk, each tensor starts a new chunk, large
 * tensors are split every `chunkBytes` from their own start), so the same tensor yields the same
 * chunks — and the same hashes — in any model, at any offset: that is what lets two models share it.
 */
import {
  headerEnd,
  parseSafetensorsHeader,
  type SafetensorsHeader,
  type SafetensorsTensor,
} from './safetensors-header';

export interface ChunkPlan {
  /**
   * The end of the chunk that starts at `start`, given `head` (the bytes from `start` held so far);
   * undefined while more bytes are needed to decide.
   */
  chunkEnd(start: number, head: Uint8Array): number | undefined;
  /** Tells the plan about a completed chunk, in file order (the header chunk teaches it tensors). */
  onChunk(start: number, bytes: Uint8Array): void;
  /** The tensors of a safetensors file once its header chunk was seen; [] for other files. */
  tensors(): SafetensorsTensor[];
}

/** True for files cut along tensor boundaries. */
export const isSafetensors = (path: string): boolean => path.endsWith('.safetensors');

/**
 * @example
 * const plan = createChunkPlan('model.safetensors', fileBytes, 8 << 20);
 */
export function createChunkPlan(path: string, fileBytes: number, chunkBytes: number): ChunkPlan {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) {
    throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  const fixed = (start: number) => Math.min(start + chunkBytes, fileBytes);
  if (!isSafetensors(path)) {
    return { chunkEnd: fixed, onChunk: () => {}, tensors: () => [] };
  }
  let header: SafetensorsHeader | undefined;
  // Sorted cut points after the header: every tensor's begin and end.
  let cuts: number[] = [];
  return {
    chunkEnd(start, head) {
      if (start === 0) return head.byteLength < 8 ? undefined : headerEnd(head, fileBytes);
      if (header === undefined) throw new Error('safetensors plan used before its header chunk');
      // The first cut after `start` (binary search); tensors split every chunkBytes from `start`,
      // which is their begin or a previous split point.
      let lo = 0;
      let hi = cuts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cuts[mid] ?? 0) <= start) lo = mid + 1;
        else hi = mid;
      }
      return Math.min(cuts[lo] ?? fileBytes, start + chunkBytes, fileBytes);
    },
    onChunk(start, bytes) {
      if (start !== 0) return;
      const parsed = parseSafetensorsHeader(bytes, fileBytes);
      const points = new Set<number>();
      for (const t of parsed.tensors) {
        points.add(t.begin);
        points.add(t.end);
      }
      cuts = [...points].filter((p) => p > parsed.dataStart).sort((a, b) => a - b);
      header = parsed;
    },
    tensors: () => header?.tensors ?? [],
  };
}
