/**
 * Answers one page request: validate everything, then do the work, and always produce exactly
 * one reply — a result or a typed error. Runs in the coordinator, never in the content script.
 */
import { NotGrantedError, toWireError } from '../protocol/errors';
import {
  type AccessResult,
  type HelloResult,
  idOf,
  type MatmulResult,
  PAGE_OPS,
  type PageReply,
  type PageRequest,
  parsePageRequest,
  type ResultByOp,
  type StatusResult,
  UNGATED_OPS,
} from '../protocol/page';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/version';
import type { OriginGate } from '../security/origin-gate';
import type { OriginLimiter } from '../security/rate-limiter';
import { assertNever } from '../util/assert-never';
import type { Coordinator } from './coordinator';

export interface PageContext {
  coordinator: Coordinator;
  /** Who is asking, as the browser reported it. */
  origin: string;
  gate: OriginGate;
  limiter: OriginLimiter;
  extensionVersion: string;
  /** How long a request may take, from arrival. */
  defaultDeadlineMs?: number;
}

export async function handlePageRequest(raw: unknown, ctx: PageContext): Promise<PageReply> {
  const id = idOf(raw);
  try {
    const request = parsePageRequest(raw);
    const deadlineAtMs = Date.now() + (ctx.defaultDeadlineMs ?? 30_000);
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
      return await run(request, ctx, deadlineAtMs);
    } finally {
      release();
    }
  } catch (e) {
    return { tabpool: PROTOCOL_VERSION, id, ok: false, error: toWireError(e) };
  }
}

async function run(
  request: PageRequest,
  ctx: PageContext,
  deadlineAtMs: number,
): Promise<PageReply> {
  let result: ResultByOp[PageRequest['op']];
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
    case 'access':
      result = { state: await ctx.gate.request(ctx.origin, request.params.timeoutMs) };
      break;
    case 'matmul': {
      const { outputs, host } = await ctx.coordinator.run('matmul', request.params, {
        deadlineAtMs,
      });
      result = { c: outputs.c as MatmulResult['c'], host };
      break;
    }
    default:
      assertNever(request);
  }
  return { tabpool: PROTOCOL_VERSION, id: request.id, ok: true, result };
}
