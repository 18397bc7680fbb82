/**
 * The models `npm run bench:pool` loads through the extension, served from a Hugging Face-shaped
 * hub on 127.0.0.1: random weights at realistic sizes (bundled by tools/bench-pool.mjs).
 */
import { byteTokenizerFiles, randomModelFiles } from '../core/models/testing/random-models';
import { startTestHubServer } from '../storage/test-hub-server';

export interface BenchModel {
  repo: string;
  files: string[];
  bytes: number;
}

/** A BERT encoder of about 44 MB (hidden 256, 4 layers, BERT's 30,522-word vocabulary). */
const PAGE_MODEL = {
  repo: 'bench/bert-44m',
  sizes: { hidden: 256, layers: 4, heads: 4, intermediate: 1024, vocab: 30_522, maxPositions: 512 },
};
/** A BERT encoder of about 108 MB (hidden 512, 6 layers): the failover case. */
const FAILOVER_MODEL = {
  repo: 'bench/bert-108m',
  sizes: { hidden: 512, layers: 6, heads: 8, intermediate: 2048, vocab: 16_000, maxPositions: 512 },
};

export async function startBenchHub(): Promise<{
  baseUrl: string;
  pageModel: BenchModel;
  failoverModel: BenchModel;
  close(): Promise<void>;
}> {
  const hub = await startTestHubServer();
  const serve = ({ repo, sizes }: typeof PAGE_MODEL, seed: number): BenchModel => {
    const files = { ...randomModelFiles('bert', sizes, seed, 0.05), ...byteTokenizerFiles() };
    let bytes = 0;
    for (const [name, body] of Object.entries(files)) {
      const data = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      bytes += data.byteLength;
      hub.addFile(repo, 'main', name, data, name.endsWith('.safetensors'));
    }
    return { repo, files: Object.keys(files), bytes };
  };
  return {
    baseUrl: hub.baseUrl,
    pageModel: serve(PAGE_MODEL, 21),
    failoverModel: serve(FAILOVER_MODEL, 22),
    close: () => hub.close(),
  };
}
