/**
 * onnxruntime-web's WASM backend as the CPU matmul peer: a one-node ONNX graph (Gemm when B is
 * given transposed, as a Linear layer stores it; MatMul otherwise) encoded here by hand — ONNX is
 * protobuf, and these few fields need no library — and run in the same process as our kernel.
 */

/** Protobuf pieces: varint fields, length-delimited fields. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const int = (field: number, value: number) => [...key(field, 0), ...varint(value)];
const bytes = (field: number, body: number[]) => [
  ...key(field, 2),
  ...varint(body.length),
  ...body,
];
const str = (field: number, s: string) => bytes(field, [...new TextEncoder().encode(s)]);

/** ValueInfoProto for an f32 tensor (TensorProto.FLOAT = 1). */
function valueInfo(name: string, shape: number[]): number[] {
  const dims = shape.flatMap((d) => bytes(1, int(1, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, 1), ...bytes(2, dims)]))];
}

/** An ONNX model computing y = a · b (or a · bᵀ via Gemm transB=1), opset 13. */
export function matmulModel(m: number, k: number, n: number, transB: boolean): Uint8Array {
  const attr = transB ? bytes(5, [...str(1, 'transB'), ...int(3, 1), ...int(20, 2)]) : [];
  const node = [
    ...str(1, 'a'),
    ...str(1, 'b'),
    ...str(2, 'y'),
    ...str(4, transB ? 'Gemm' : 'MatMul'),
    ...attr,
  ];
  const graph = [
    ...bytes(1, node),
    ...str(2, 'matmul'),
    ...bytes(11, valueInfo('a', [m, k])),
    ...bytes(11, valueInfo('b', transB ? [n, k] : [k, n])),
    ...bytes(12, valueInfo('y', [m, n])),
  ];
  return new Uint8Array([...int(1, 8), ...bytes(7, graph), ...bytes(8, int(2, 13))]);
}

export interface OrtMatmul {
  run(a: Float32Array, b: Float32Array): Promise<Float32Array>;
}

/** Loads onnxruntime-web (single WASM thread, like our kernel) or returns null if it cannot run. */
export async function ortMatmul(
  m: number,
  k: number,
  n: number,
  transB: boolean,
): Promise<OrtMatmul | null> {
  const name = 'onnxruntime-web';
  try {
    const ort = await import(/* @vite-ignore */ name);
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(matmulModel(m, k, n, transB), {
      executionProviders: ['wasm'],
    });
    return {
      async run(a, b) {
        const feeds = {
          a: new ort.Tensor('float32', a, [m, k]),
          b: new ort.Tensor('float32', b, transB ? [n, k] : [k, n]),
        };
        const result = await session.run(feeds);
        return result.y.data as Float32Array;
      },
    };
  } catch (e) {
    console.log(`onnxruntime-web unavailable: ${(e as Error).message}`);
    return null;
  }
}
