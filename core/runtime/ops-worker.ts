/**
 * A dedicated Worker that runs a host's CPU ops off the host's main thread. All of an extension's
 * pages share one renderer process and so one main thread: Workers are where a host gets CPU
 * parallelism (see docs/decisions.md). Host ↔ worker is comlink, inside the extension only.
 */
import * as Comlink from 'comlink';
import { createOpsWorkerApi } from './ops-worker-api';

Comlink.expose(createOpsWorkerApi());
