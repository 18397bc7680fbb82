/**
 * Answers one page request: validate everything, then do the work, and always produce exactly
 * one reply — a result or a typed error. Runs in the coordinator, never in the content script.
 */
import { AbortedError, BadMessageError, NotGrantedError, toWireError } from '../protocol/errors';
import type { TaskName, TaskParamsByName } from '../protocol/host';
import type { TokenEvent } from '../protocol/inference';
import type {
  ModelSummary,
  ModelsLoadParams,
  ModelsLoadResult,
  ProgressEvent,
} from '../protocol/models';
import {
  type CancelRequest,
  DEFAULT_DEADLINE_MS,
  idOf,
  type MatmulResult,
  PAGE_OPS,
  type PageReply,
  type PageRequest,
  parsePageRequest,
  type ResultByOp,
  UNGATED_OPS,
} from '../protocol/page';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/version';
import type { OriginGate } from '../security/origin-gate';
import type { OriginLimiter } from '../security/rate-limiter';
import { assertNever } from '../util/assert-never';
import type { Coordinator, RunOptions } from './coordinator';
import { RequestJournal } from './request-journal';

export interface PageContext {
  coordinator: Coordinator;
  /** Who is asking, as the browser reported it. */
  origin: string;
  gate: OriginGate;
  limiter: OriginLimiter;
  extensionVersion: string;
  /** How long a request may take, from arrival, when it names no deadline. */
  defaultDeadlineMs?: number;
  /** The channel's requests in flight, by id: what `cancel` can reach. */
  inflight?: Map<string, AbortController>;
  /** Sends a streamed event (download progress, generated tokens) before the final reply. */
  emit?: (event: ProgressEvent | TokenEvent) => void;
  /** The shared model store, as the coordinator sees it. */
  models: ModelsContext;
  /** Where accepted requests are written down until answered (survives a worker restart). */
  journal?: RequestJournal;
  /** The page frame this channel serves (`tab:frame`), stable across worker restarts. */
  scope?: string;
}

export interface ModelsContext {
  /** The model server from the settings (pages never name a URL). */
  baseUrl(): Promise<string>;
  list(): Promise<ModelSummary[]>;
  /** The model the user chose for pages' `LanguageModel` (settings), or null. */
  languageModel?(): Promise<ModelsLoadParams | null>;
  /** The user's cap on the model store's bytes (settings); 0 or absent = the browser's quota. */
  maxStoredBytes?(): Promise<number>;
}

export async function handlePageRequest(raw: unknown, ctx: PageContext): Promise<PageReply> {
  const id = idOf(raw);
  try {
    const request = parsePageRequest(raw);
    let deadlineAtMs =
      Date.now() + (request.deadlineMs ?? ctx.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS);
    const journalKey = RequestJournal.keyOf(ctx.origin, ctx.scope ?? '', request.id);
    if (request.resume) {
      // Sent again by the relay after a restart (only ops safe to run twice), with what was
      // left of its deadline. The old worker's entry, if any, gives the first deadline exactly;
      // without one, the old worker never started it (work waits for the journal write).
      const entry = ctx.scope ? await ctx.journal?.resume(journalKey) : undefined;
      if (entry) deadlineAtMs = entry.deadlineAtMs;
    }
    // Limits first (cheap, and they keep a flood off the grant lookups), then the grant.
    const release = ctx.limiter.acquire(ctx.origin);
    try {
      if (!UNGATED_OPS.includes(request.op)) {
        const state = await ctx.gate.state(ctx.origin);
        if (state !== 'granted') {
          throw new NotGrantedError(
            `${ctx.origin} may not use tabpool until the user allows it (state: ${state}); call "access" first`,
            { detail: { state } },
          );
        }
      }
      if (request.op === 'cancel') return cancel(request, ctx);
      if (ctx.inflight?.has(request.id)) {
        throw new BadMessageError(`Request id "${request.id}" is already in flight`);
      }
      const controller = new AbortController();
      ctx.inflight?.set(request.id, controller);
      try {
        await ctx.journal?.accept({
          key: journalKey,
          op: request.op,
          deadlineAtMs,
          acceptedAtMs: Date.now(),
        });
        return await run(request, ctx, deadlineAtMs, controller.signal);
      } finally {
        ctx.inflight?.delete(request.id);
        ctx.journal?.end(journalKey);
      }
    } finally {
      release();
    }
  } catch (e) {
    return { tabpool: PROTOCOL_VERSION, id, ok: false, error: toWireError(e) };
  }
}

function cancel(request: CancelRequest, ctx: PageContext): PageReply {
  const target = ctx.inflight?.get(request.params.id);
  target?.abort();
  return { tabpool: PROTOCOL_VERSION, id: request.id, ok: true, result: { cancelled: !!target } };
}

async function run(
  request: Exclude<PageRequest, CancelRequest>,
  ctx: PageContext,
  deadlineAtMs: number,
  signal: AbortSignal,
): Promise<PageReply> {
  let result: ResultByOp[PageRequest['op']];
  // Where the request waits in the pool's queue: its origin's turn, its priority, its deadline.
  const placement: RunOptions = {
    deadlineAtMs,
    signal,
    origin: ctx.origin,
    ...(request.priority ? { priority: request.priority } : {}),
    ...(request.hedge ? { hedge: true } : {}),
  };
  switch (request.op) {
    case 'hello':
      result = {
        extension: 'tabpool',
        extensionVersion: ctx.extensionVersion,
        protocol: PROTOCOL_VERSION,
        protocols: [...SUPPORTED_PROTOCOL_VERSIONS],
        ops: [...PAGE_OPS],
      };
      break;
    case 'status':
      result = { hosts: ctx.coordinator.registry.summaries() };
      break;
    case 'echo':
      result = { data: request.params.data };
      break;
    case 'models.list':
      result = { models: await ctx.models.list() };
      break;
    case 'models.defaults':
      result = { languageModel: (await ctx.models.languageModel?.()) ?? null };
      break;
    case 'models.load': {
      const { repo, revision, files } = request.params;
      const { result: loaded } = await ctx.coordinator.task(
        'download-model',
        {
          baseUrl: await ctx.models.baseUrl(),
          repo,
          revision,
          files,
          maxStoredBytes: (await ctx.models.maxStoredBytes?.()) ?? 0,
        },
        {
          ...placement,
          onProgress: (progress) =>
            ctx.emit?.({
              tabpool: PROTOCOL_VERSION,
              id: request.id,
              event: 'progress',
              progress: progress as ProgressEvent['progress'],
            }),
        },
      );
      result = loaded as ModelsLoadResult;
      break;
    }
    case 'access':
      result = {
        state: await abortable(ctx.gate.request(ctx.origin, request.params.timeoutMs), signal),
      };
      break;
    case 'matmul': {
      const { outputs, host } = await ctx.coordinator.run('matmul', request.params, placement);
      result = { c: outputs.c as MatmulResult['c'], host };
      break;
    }
    case 'models.unload': {
      const replies = await ctx.coordinator.broadcastTask('model-unload', request.params, {
        deadlineAtMs,
        signal,
      });
      let unloaded = 0;
      for (const r of replies) unloaded += (r as { unloaded?: number }).unloaded ?? 0;
      result = { unloaded };
      break;
    }
    case 'run':
      result = (await modelTask(ctx, 'model-run', request.params, placement)) as ResultByOp['run'];
      break;
    case 'embed':
      result = (await modelTask(
        ctx,
        'model-embed',
        request.params,
        placement,
      )) as ResultByOp['embed'];
      break;
    case 'classify':
      result = (await modelTask(
        ctx,
        'model-classify',
        request.params,
        placement,
      )) as ResultByOp['classify'];
      break;
    case 'generate':
      result = (await modelTask(ctx, 'model-generate', request.params, placement, (p) =>
        ctx.emit?.({
          tabpool: PROTOCOL_VERSION,
          id: request.id,
          event: 'token',
          token: (p as { token: TokenEvent['token'] }).token,
        }),
      )) as ResultByOp['generate'];
      break;
    case 'transcribe':
      result = (await modelTask(ctx, 'model-transcribe', request.params, placement, (p) =>
        ctx.emit?.({
          tabpool: PROTOCOL_VERSION,
          id: request.id,
          event: 'token',
          token: (p as { token: TokenEvent['token'] }).token,
        }),
      )) as ResultByOp['transcribe'];
      break;
    default:
      assertNever(request);
  }
  return { tabpool: PROTOCOL_VERSION, id: request.id, ok: true, result };
}

/** Runs a model task on the pool; the stored model must be `ready` (NOT_FOUND / MODEL_NOT_READY). */
async function modelTask<K extends TaskName>(
  ctx: PageContext,
  task: K,
  params: TaskParamsByName[K],
  placement: RunOptions,
  onProgress?: (progress: unknown) => void,
): Promise<unknown> {
  const { result } = await ctx.coordinator.task(task, params, { ...placement, onProgress });
  return result;
}

/** Rejects with ABORTED when `signal` fires first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError('The request was cancelled'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError('The request was cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
