/** A host's model Worker: see model-worker-api.ts. */
import * as Comlink from 'comlink';
import { createModelWorkerApi } from './model-worker-api';

Comlink.expose(createModelWorkerApi((navigator as Navigator & { gpu?: GPU }).gpu ?? null));
