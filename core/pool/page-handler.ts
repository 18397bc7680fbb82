/**
 * Answers one page request: validate everything, then do the work, and always produce exactly
 * one reply — a result or a typed error. Runs in the coordinator, never in the content script.
 */
import { toWireError } from '../protocol/errors';
import {
  type HelloResult,
  idOf,
  type MatmulResult,
  PAGE_OPS,
  type PageReply,
  parsePageRequest,
  type StatusResult,
} from '../protocol/page';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/version';
import { assertNever } from '../util/assert-never';
import type { Coordinator } from './coordinator';

export interface PageContext {
  coordinator: Coordinator;
  /** Who is asking, as the browser reported it. */
  origin: string;
  extensionVersion: string;
  /** How long a request may take, from arrival. */
  defaultDeadlineMs?: number;
}

export async function handlePageRequest(raw: unknown, ctx: PageContext): Promise<PageReply> {
  const id = idOf(raw);
  try {
    const request = parsePageRequest(raw);
    const deadlineAtMs = Date.now() + (ctx.defaultDeadlineMs ?? 30_000);
    let result: HelloResult | StatusResult | MatmulResult;
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
  } catch (e) {
    return { tabpool: PROTOCOL_VERSION, id, ok: false, error: toWireError(e) };
  }
}
