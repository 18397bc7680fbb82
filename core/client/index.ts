/** The tabpool page SDK (`tabpool/client`). Every public name is listed here. */

export type { ErrorCode, WireError } from '../protocol/errors';
export {
  AbortedError,
  errorFromWire,
  isTabpoolError,
  NotGrantedError,
  NotInstalledError,
  RateLimitedError,
  TabpoolError,
} from '../protocol/errors';
export type {
  ModelSummary,
  ModelsListResult,
  ModelsLoadResult,
  ProgressEvent,
} from '../protocol/models';
export type {
  HelloResult,
  HostSummary,
  MatmulResult,
  SessionEvent,
  StatusResult,
} from '../protocol/page';
export { PROTOCOL_VERSION } from '../protocol/version';
export type { CallOptions, ConnectOptions, WireTensor } from './client';
export { connect, TabpoolClient } from './client';
