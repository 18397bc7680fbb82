/**
 * Sharded runs: the `model-stages` host task (coordinator → host) and the messages hosts send
 * each other on the MessagePorts the coordinator hands out. Types only.
 */
import type { WireTensor } from './tensor';

/** How a model's stage list is cut: whole layers, or attention and feed-forward apart. */
export type StageSplit = 'layers' | 'sublayers';

/** One stage as a host's profile describes it (what the planner needs). */
export interface StageProfile {
  name: string;
  kind: 'embed' | 'layer' | 'head';
  group: string | null;
  /** Bytes of the weights it reads, as loaded (f32). */
  weightBytes: number;
  largestTensorBytes: number;
}

/** Profiles every stage of a model for `split`, one stage's weights in memory at a time. */
export interface StagesProfileTask {
  action: 'profile';
  model: string;
  split: StageSplit;
}
export interface StagesProfileResult {
  stages: StageProfile[];
}

/**
 * Runs stages `from..to` (inclusive, indices into the `split` stage list). The first range reads
 * `inputs` and no activation; later ranges wait for one on `in`. A range that is not the last
 * sends its output on `out` and keeps it until the next host acknowledges.
 */
export interface StagesRunTask {
  action: 'run';
  model: string;
  /** The sharded run this range belongs to (same on every host of the run). */
  runKey: string;
  split: StageSplit;
  from: number;
  to: number;
  /** The page's inputs (ids, masks): every range needs them (masks, positions). */
  inputs: Record<string, WireTensor>;
  /** The last range only: which outputs to return (default: all but hidden states). */
  outputs?: string[];
  in?: MessagePort;
  out?: MessagePort;
}

/** Sends the activation kept for `runKey` again, on a new port (the next host died). */
export interface StagesResendTask {
  action: 'resend';
  runKey: string;
  out: MessagePort;
}

export type StagesTask = StagesProfileTask | StagesRunTask | StagesResendTask;

/** A range that is not the last: its output went out on `out` and is kept here. */
export interface StagesSent {
  finished: number;
  /** Bytes of the activation sent. */
  bytes: number;
  /** Time the range waited for its input activation, and spent running its stages. */
  waitMs: number;
  runMs: number;
  /** Sent → received for the input activation (ms, the two hosts' clocks), null for the first. */
  transferMs: number | null;
}
/** The last range: the model's outputs, as `model-run` returns them. */
export interface StagesDone {
  finished: number;
  outputs: Record<string, WireTensor>;
  backend: 'webgpu' | 'cpu';
  waitMs: number;
  runMs: number;
  /** Sent → received for the input activation (ms, the two hosts' clocks), null for the first. */
  transferMs: number | null;
}
export type StagesRunResult = StagesSent | StagesDone;

// ---- host ↔ host, on the ports ----

/** The output of stage `stage`, f32, its buffer transferred. */
export interface ActivationMessage {
  type: 'activation';
  runKey: string;
  stage: number;
  tensor: WireTensor;
  /** performance.timeOrigin + now() at send, for the transfer-time figure. */
  sentAtMs: number;
}
/** The next host finished its stages (and keeps its own output): drop the kept activation. */
export interface ActivationAck {
  type: 'ack';
  runKey: string;
  stage: number;
}
export type StagePortMessage = ActivationMessage | ActivationAck;
