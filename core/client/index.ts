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
  ClassifyResult,
  EmbedResult,
  FinishReason,
  GenerateResult,
  RunResult,
  TokenEvent,
  UnloadResult,
} from '../protocol/inference';
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
export type {
  CallOptions,
  ClientTensor,
  ConnectOptions,
  GenerateOptions,
  WireTensor,
} from './client';
export { connect, TabpoolClient } from './client';
export type {
  Availability,
  CreateOptions,
  LanguageModelMessage,
  LanguageModelSession,
  LanguageModelSource,
  LanguageModelStatic,
  PromptOptions,
} from './language-model';
export { createLanguageModel, DownloadProgressEvent, renderConversation } from './language-model';
