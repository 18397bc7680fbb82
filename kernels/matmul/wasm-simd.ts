/**
 * A WebAssembly SIMD (f32x4) matmul kernel, assembled here from its bytes (no toolchain, no
 * fetched file). One function, `mm(a, b, c, m, k, n)`, writes C[m, n] = A[m, k] · B[k, n] for
 * m a multiple of 4 and n of 8 (callers pad): 4 × 8 output tiles held in eight f32x4 locals while
 * p walks k. Each step rounds the product to f32 before adding (f32x4.mul then f32x4.add), so
 * sums can differ from the JS kernels by an ulp or so per step; tests bound it.
 *
 * Compiling needs WebAssembly, SIMD and, in extension pages, 'wasm-unsafe-eval' in the CSP;
 * `wasmMatmul()` returns null where any is missing and callers use the JS kernels.
 */

const leb = (v: number): number[] => {
  const out: number[] = [];
  let x = v >>> 0;
  do {
    let byte = x & 127;
    x >>>= 7;
    if (x) byte |= 128;
    out.push(byte);
  } while (x);
  return out;
};
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

// Locals: params a b c m k n (0-5), then i32 i j p ap bp kb nb cp (6-13), v128 acc0-7 bv0 bv1 av (14-24).
const [A, B, C, M, K, N, I, J, P, AP, BP, KB, NB, CP] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
];
const ACC = 14;
const [BV0, BV1, AV] = [22, 23, 24];
const get = (l: number) => [0x20, l];
const set = (l: number) => [0x21, l];
const i32 = (v: number) => [0x41, ...leb(v)]; // small non-negative constants only
const add = [0x6a];
const mul = [0x6c];
const simd = (op: number) => [0xfd, ...leb(op)];
const v128load = (offset: number) => [...simd(0x00), 4, ...leb(offset)];
const v128store = (offset: number) => [...simd(0x0b), 4, ...leb(offset)];
const f32load = [0x2a, 2, 0];
const splat = simd(0x13);
const fadd = simd(0xe4);
const fmul = simd(0xe6);

/** acc[r*2+h] += splat(A[row r]) · bv[h] for the four rows of the tile. */
function rowUpdates(): number[] {
  const out: number[] = [];
  for (let r = 0; r < 4; r++) {
    out.push(...get(AP));
    for (let s = 0; s < r; s++) out.push(...get(KB), ...add);
    out.push(...f32load, ...splat, ...set(AV));
    for (let h = 0; h < 2; h++) {
      const acc = ACC + r * 2 + h;
      out.push(...get(acc), ...get(AV), ...get(h ? BV1 : BV0), ...fmul, ...fadd, ...set(acc));
    }
  }
  return out;
}

function stores(): number[] {
  const out: number[] = [...get(C), ...get(I), ...get(NB), ...mul, ...add];
  out.push(...get(J), ...i32(4), ...mul, ...add, ...set(CP));
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) out.push(...get(CP), ...get(ACC + r * 2 + h), ...v128store(h * 16));
    out.push(...get(CP), ...get(NB), ...add, ...set(CP));
  }
  return out;
}

function body(): number[] {
  const zero = [...simd(0x0c), ...new Array(16).fill(0)];
  const clear: number[] = [];
  for (let x = 0; x < 8; x++) clear.push(...zero, ...set(ACC + x));
  const code = [
    ...get(K),
    ...i32(4),
    ...mul,
    ...set(KB),
    ...get(N),
    ...i32(4),
    ...mul,
    ...set(NB),
    // Column tiles outside, row tiles inside: the k × 8 strip of B stays in L1 for every row tile.
    ...i32(0),
    ...set(J),
    0x03,
    0x40, // loop over column tiles
    ...i32(0),
    ...set(I),
    0x03,
    0x40, // loop over row tiles
    ...clear,
    ...get(A),
    ...get(I),
    ...get(KB),
    ...mul,
    ...add,
    ...set(AP),
    ...get(B),
    ...get(J),
    ...i32(4),
    ...mul,
    ...add,
    ...set(BP),
    ...i32(0),
    ...set(P),
    0x03,
    0x40, // loop over k
    ...get(BP),
    ...v128load(0),
    ...set(BV0),
    ...get(BP),
    ...v128load(16),
    ...set(BV1),
    ...rowUpdates(),
    ...get(AP),
    ...i32(4),
    ...add,
    ...set(AP),
    ...get(BP),
    ...get(NB),
    ...add,
    ...set(BP),
    ...get(P),
    ...i32(1),
    ...add,
    0x22,
    P,
    ...get(K),
    0x49,
    0x0d,
    0, // p < k: again
    0x0b,
    ...stores(),
    ...get(I),
    ...i32(4),
    ...add,
    0x22,
    I,
    ...get(M),
    0x49,
    0x0d,
    0,
    0x0b,
    ...get(J),
    ...i32(8),
    ...add,
    0x22,
    J,
    ...get(N),
    0x49,
    0x0d,
    0,
    0x0b,
    0x0b, // end of function
  ];
  const locals = vec([
    [8, 0x7f],
    [11, 0x7b],
  ]);
  return [...locals, ...code];
}

function moduleBytes(): Uint8Array {
  const type = vec([[0x60, ...vec(new Array(6).fill([0x7f])), 0]]);
  const exports = vec([
    [...name('mem'), 2, 0],
    [...name('mm'), 0, 0],
  ]);
  const fn = body();
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...section(1, type),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0, 1]])),
    ...section(7, exports),
    ...section(10, vec([[...leb(fn.length), ...fn]])),
  ]);
}

export interface WasmMatmul {
  /**
   * c[cOff + i·n + j] = Σp A[i, p] · B[p, j] where A is [m, k] at aOff and B is [k, n] at bOff,
   * or [n, k] when `bTransposed`.
   */
  run(
    a: Float32Array,
    aOff: number,
    b: Float32Array,
    bOff: number,
    bTransposed: boolean,
    c: Float32Array,
    cOff: number,
    m: number,
    k: number,
    n: number,
  ): void;
}

let cached: WasmMatmul | null | undefined;

/** The kernel, compiled once per realm, or null where WebAssembly SIMD cannot be compiled. */
export function wasmMatmul(): WasmMatmul | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(moduleBytes() as BufferSource),
    );
    const memory = instance.exports.mem as WebAssembly.Memory;
    const mm = instance.exports.mm as (...args: number[]) => void;
    cached = { run: (...args) => runPadded(memory, mm, ...args) };
  } catch {
    // No WebAssembly, no SIMD, or a CSP without 'wasm-unsafe-eval': the JS kernels serve.
  }
  return cached;
}

function runPadded(
  memory: WebAssembly.Memory,
  mm: (...args: number[]) => void,
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  bTransposed: boolean,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  const m4 = Math.ceil(m / 4) * 4;
  const n8 = Math.ceil(n / 8) * 8;
  const aAt = 0;
  const bAt = aAt + m4 * k;
  const cAt = bAt + k * n8;
  const bytes = (cAt + m4 * n8) * 4;
  if (memory.buffer.byteLength < bytes) {
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  }
  const heap = new Float32Array(memory.buffer);
  heap.set(a.subarray(aOff, aOff + m * k), aAt);
  heap.fill(0, aAt + m * k, bAt); // padding rows
  if (n8 !== n) heap.fill(0, bAt, cAt); // padding columns
  if (bTransposed) {
    // B stored [n, k] → [k, n8], in 32 × 32 tiles so reads and writes stay within a few lines.
    for (let j0 = 0; j0 < n; j0 += 32) {
      const j1 = Math.min(n, j0 + 32);
      for (let p0 = 0; p0 < k; p0 += 32) {
        const p1 = Math.min(k, p0 + 32);
        for (let j = j0; j < j1; j++) {
          const from = bOff + j * k;
          for (let p = p0; p < p1; p++) heap[bAt + p * n8 + j] = b[from + p] as number;
        }
      }
    }
  } else if (n8 === n) {
    heap.set(b.subarray(bOff, bOff + k * n), bAt);
  } else {
    for (let p = 0; p < k; p++)
      heap.set(b.subarray(bOff + p * n, bOff + (p + 1) * n), bAt + p * n8);
  }
  mm(aAt * 4, bAt * 4, cAt * 4, m4, k, n8);
  for (let i = 0; i < m; i++) c.set(heap.subarray(cAt + i * n8, cAt + i * n8 + n), cOff + i * n);
}
