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
  TranscribeResult,
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
  ClassifyOptions,
  ClientTensor,
  ConnectOptions,
  GenerateOptions,
  TranscribeOptions,
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
export type { ImagePreprocess, RgbaImage } from './media';
export { CLIP_MEAN, CLIP_STD, clipPixelValues, resampleTo16k, WHISPER_SAMPLE_RATE } from './media';
