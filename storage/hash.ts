/**
 * SHA-256 helpers. Chunks are hashed with `crypto.subtle` (native, fast); whole files are hashed
 * incrementally with @noble/hashes because `crypto.subtle.digest` cannot take a stream.
 */
import { sha256 } from '@noble/hashes/sha2.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of some bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/**
 * The SHA-256 of `bytes` as 64 lower-case hex digits (the chunk store's key).
 *
 * @example
 * await sha256Hex(new TextEncoder().encode('abc'))
 * // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  // subtle.digest wants a plain ArrayBuffer-backed view; a Uint8Array over one is that.
  const digest = await crypto.subtle.digest('SHA-256', view as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}

/** An incremental SHA-256 over a file that arrives in pieces. */
export interface StreamHasher {
  update(bytes: Uint8Array): void;
  /** Hex digest of everything seen so far; the hasher can keep going afterwards. */
  hex(): string;
}

/**
 * @example
 * const h = createStreamHasher(); h.update(a); h.update(b); h.hex() === await sha256Hex(concat(a, b))
 */
export function createStreamHasher(): StreamHasher {
  const state = sha256.create();
  return {
    update: (bytes) => {
      state.update(bytes);
    },
    hex: () => toHex(state.clone().digest()),
  };
}

/** True for a string that looks like a SHA-256 hex digest. */
export const isSha256Hex = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);
