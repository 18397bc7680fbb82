/**
 * Errors that cross contexts (page ↔ content script ↔ service worker ↔ hosts).
 *
 * Every error has a stable `code`. Across a context boundary it travels as plain data
 * (`WireError`) and is rebuilt into the matching class by `errorFromWire`, so a type guard
 * that checks `code` works in every realm — `instanceof` does not survive `postMessage`.
 */

export type ErrorCode =
  | 'BAD_MESSAGE'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_OP'
  | 'INVALID_PARAMS'
  | 'PAYLOAD_TOO_LARGE'
  | 'NO_HOST'
  | 'HOST_LOST'
  | 'COORDINATOR_LOST'
  | 'TIMEOUT'
  | 'KERNEL_FAILED'
  | 'GPU_DEVICE_LOST'
  | 'UNSUPPORTED_OP'
  | 'QUOTA_EXCEEDED'
  | 'STORAGE_FAILED'
  | 'INTEGRITY_FAILED'
  | 'DOWNLOAD_FAILED'
  | 'NOT_FOUND'
  | 'MODEL_NOT_READY'
  | 'BAD_MODEL_FILE'
  | 'UNSUPPORTED_MODEL'
  | 'ABORTED'
  | 'NOT_INSTALLED'
  | 'NOT_GRANTED'
  | 'RATE_LIMITED'
  | 'NO_SHARD_PLAN'
  | 'INTERNAL';

/** The plain-data shape of an error on the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** Optional machine-readable detail (which field, which limit). Plain JSON only. */
  detail?: Record<string, unknown>;
}

export abstract class TabpoolError extends Error {
  abstract readonly code: ErrorCode;
  readonly detail: Record<string, unknown> | undefined;

  constructor(message: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = options?.detail;
  }

  toWire(): WireError {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
}

/** The message is not a tabpool envelope we can read (wrong shape, missing id or op). */
export class BadMessageError extends TabpoolError {
  readonly code = 'BAD_MESSAGE';
}
/** The envelope names a protocol version this extension does not speak. */
export class UnsupportedVersionError extends TabpoolError {
  readonly code = 'UNSUPPORTED_VERSION';
}
/** The envelope names an operation that does not exist. */
export class UnknownOpError extends TabpoolError {
  readonly code = 'UNKNOWN_OP';
}
/** The operation exists but its params fail validation (types, shapes, byte lengths). */
export class InvalidParamsError extends TabpoolError {
  readonly code = 'INVALID_PARAMS';
}
/** A tensor or a whole request is larger than the limit; rejected before any allocation. */
export class PayloadTooLargeError extends TabpoolError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
/** No runtime host became ready before the request's deadline. */
export class NoHostError extends TabpoolError {
  readonly code = 'NO_HOST';
}
/** The host running a request disappeared (tab closed, document gone) and retries ran out. */
export class HostLostError extends TabpoolError {
  readonly code = 'HOST_LOST';
}
/** The extension's coordinator (service worker) went away while the request was in flight. */
export class CoordinatorLostError extends TabpoolError {
  readonly code = 'COORDINATOR_LOST';
}
/** The request's deadline passed. */
export class TimeoutError extends TabpoolError {
  readonly code = 'TIMEOUT';
}
/** A kernel threw while computing. */
export class KernelFailedError extends TabpoolError {
  readonly code = 'KERNEL_FAILED';
}
/** The host's GPUDevice was lost (driver reset, GPU-process crash, destroy); its tensors are gone. */
export class GpuDeviceLostError extends TabpoolError {
  readonly code = 'GPU_DEVICE_LOST';
}
/** No backend can run this op with these dtypes, shapes or adapter limits. */
export class UnsupportedOpError extends TabpoolError {
  readonly code = 'UNSUPPORTED_OP';
}
/** The browser refused to store more (IndexedDB quota); nothing half-written was kept. */
export class QuotaExceededError extends TabpoolError {
  readonly code = 'QUOTA_EXCEEDED';
}
/** IndexedDB failed for a reason other than quota (closed, blocked, version, I/O). */
export class StorageFailedError extends TabpoolError {
  readonly code = 'STORAGE_FAILED';
}
/** Stored or downloaded bytes do not match their SHA-256 (or the server's hash). */
export class IntegrityFailedError extends TabpoolError {
  readonly code = 'INTEGRITY_FAILED';
}
/** A model file could not be fetched (HTTP error, network drop) after retries ran out. */
export class DownloadFailedError extends TabpoolError {
  readonly code = 'DOWNLOAD_FAILED';
}
/** The named model, file, tensor or chunk does not exist. */
export class NotFoundError extends TabpoolError {
  readonly code = 'NOT_FOUND';
}
/** The model exists but is not `ready` (still downloading, or marked corrupt). */
export class ModelNotReadyError extends TabpoolError {
  readonly code = 'MODEL_NOT_READY';
}
/**
 * A model file is malformed: a safetensors header out of range or overlapping, a dtype or
 * shape that does not match its bytes, a config.json missing a field the architecture needs.
 * `detail.file` names the file.
 */
export class BadModelFileError extends TabpoolError {
  readonly code = 'BAD_MODEL_FILE';
}
/** The model's `model_type` (or one of its options) is not an architecture tabpool runs. */
export class UnsupportedModelError extends TabpoolError {
  readonly code = 'UNSUPPORTED_MODEL';
}
/** The caller cancelled the operation (its AbortSignal fired). */
export class AbortedError extends TabpoolError {
  readonly code = 'ABORTED';
}
/** No tabpool extension answered the page (SDK side). */
export class NotInstalledError extends TabpoolError {
  readonly code = 'NOT_INSTALLED';
}
/** The page's origin has no grant from the user (never asked, denied, or revoked). */
export class NotGrantedError extends TabpoolError {
  readonly code = 'NOT_GRANTED';
}
/** The origin sent more requests, or more at once, than its limits allow; `detail.retryAfterMs`. */
export class RateLimitedError extends TabpoolError {
  readonly code = 'RATE_LIMITED';
}
/** No way to split a model over the hosts fits their limits (core/shard/planner.ts). */
export class NoShardPlanError extends TabpoolError {
  readonly code = 'NO_SHARD_PLAN';
}
/** A bug: something that should not happen did. */
export class InternalError extends TabpoolError {
  readonly code = 'INTERNAL';
}

type ErrorClass = new (
  message: string,
  options?: { cause?: unknown; detail?: Record<string, unknown> },
) => TabpoolError;

const classesByCode: Record<ErrorCode, ErrorClass> = {
  BAD_MESSAGE: BadMessageError,
  UNSUPPORTED_VERSION: UnsupportedVersionError,
  UNKNOWN_OP: UnknownOpError,
  INVALID_PARAMS: InvalidParamsError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  NO_HOST: NoHostError,
  HOST_LOST: HostLostError,
  COORDINATOR_LOST: CoordinatorLostError,
  TIMEOUT: TimeoutError,
  KERNEL_FAILED: KernelFailedError,
  GPU_DEVICE_LOST: GpuDeviceLostError,
  UNSUPPORTED_OP: UnsupportedOpError,
  QUOTA_EXCEEDED: QuotaExceededError,
  STORAGE_FAILED: StorageFailedError,
  INTEGRITY_FAILED: IntegrityFailedError,
  DOWNLOAD_FAILED: DownloadFailedError,
  NOT_FOUND: NotFoundError,
  MODEL_NOT_READY: ModelNotReadyError,
  BAD_MODEL_FILE: BadModelFileError,
  UNSUPPORTED_MODEL: UnsupportedModelError,
  ABORTED: AbortedError,
  NOT_INSTALLED: NotInstalledError,
  NOT_GRANTED: NotGrantedError,
  RATE_LIMITED: RateLimitedError,
  NO_SHARD_PLAN: NoShardPlanError,
  INTERNAL: InternalError,
};

export const ERROR_CODES = Object.keys(classesByCode) as ErrorCode[];

export const isErrorCode = (value: unknown): value is ErrorCode =>
  typeof value === 'string' && Object.hasOwn(classesByCode, value);

/** True for a tabpool error from any realm, rebuilt or not: checks `code`, not the prototype. */
export const isTabpoolError = (e: unknown): e is TabpoolError =>
  typeof e === 'object' &&
  e !== null &&
  isErrorCode((e as { code?: unknown }).code) &&
  typeof (e as { message?: unknown }).message === 'string';

/** Rebuilds the error class named by `wire.code`; an unreadable wire error becomes INTERNAL. */
export function errorFromWire(wire: unknown): TabpoolError {
  if (typeof wire !== 'object' || wire === null) {
    return new InternalError('Unreadable error from another context', {
      detail: { wire: String(wire) },
    });
  }
  const { code, message, detail } = wire as Partial<WireError>;
  const Class = isErrorCode(code) ? classesByCode[code] : InternalError;
  const text = typeof message === 'string' ? message : 'Unknown error';
  return typeof detail === 'object' && detail !== null
    ? new Class(text, { detail })
    : new Class(text);
}

/**
 * Turns anything thrown into a wire error. Tabpool errors keep their code; anything else is a
 * bug and becomes INTERNAL (its message kept, its stack not sent across).
 */
export function toWireError(e: unknown): WireError {
  if (e instanceof TabpoolError) return e.toWire();
  if (isTabpoolError(e)) return errorFromWire(e).toWire();
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message };
}
