/**
 * Splits a model's stage list over hosts: each host gets one contiguous range of stages
 * (a pipeline), chosen so the slowest host's share of the work is as small as it can be while
 * every host's weights fit its memory and every weight tensor fits its largest buffer.
 *
 * The planner is generic over the stage list: layer ranges are plain cuts, attention vs
 * feed-forward is the same cut over a list where each layer is two stages (`expandStages`), and
 * by-component plans only cut where a stage group ends (encoder | decoder, text | vision).
 */
import { NoShardPlanError } from '../protocol/errors';

/** What the planner knows about one stage (from a host's profile: core/shard/stage-host.ts). */
export interface StageInfo {
  name: string;
  /** Bytes of weights this stage needs in memory (f32, as loaded). */
  weightBytes: number;
  /** Bytes of this stage's largest weight tensor: it must fit one buffer on the host. */
  largestTensorBytes: number;
  /** Estimated work, in any unit shared by every stage (default: its weight bytes). */
  cost: number;
  /** The component the stage belongs to; contiguous in the list. */
  group?: string;
}

export interface HostSpec {
  id: string;
  /** Bytes of weights this host may hold. */
  memoryBytes: number;
  /** Largest single buffer (WebGPU `maxBufferSize`; the CPU has none: Infinity). */
  maxBufferBytes: number;
  /** Work units per ms (relative figures are enough: 2 is twice as fast as 1). */
  speed: number;
}

export interface Segment {
  hostId: string;
  /** First stage index (inclusive). */
  from: number;
  /** Last stage index (inclusive). */
  to: number;
  weightBytes: number;
  cost: number;
  /** cost / host speed. */
  ms: number;
}

export interface ShardPlan {
  segments: Segment[];
  /** The slowest segment's `ms`: what pipelined throughput is bound by. */
  bottleneckMs: number;
}

export interface PlanOptions {
  /** Use at most this many hosts (default: every host given). */
  maxHosts?: number;
  /** Cut only after stages where the group changes (sharding by component). */
  byComponent?: boolean;
  /** Host orders tried exhaustively up to this many hosts (default 5: 120 orders). */
  exhaustiveUpTo?: number;
}

/**
 * The best plan: the smallest bottleneck, then the fewest segments (fewest transfers).
 * Throws NO_SHARD_PLAN (with `detail.reason`) when nothing fits.
 *
 * @example
 * const plan = planPipeline(stages, [{ id: 'a', memoryBytes: 2e9, maxBufferBytes: 1e9, speed: 1 }]);
 */
export function planPipeline(
  stages: readonly StageInfo[],
  hosts: readonly HostSpec[],
  options: PlanOptions = {},
): ShardPlan {
  if (stages.length === 0) throw new NoShardPlanError('The model has no stages');
  if (hosts.length === 0) throw new NoShardPlanError('No host to place stages on');
  checkEveryStageFitsSomewhere(stages, hosts);
  const cutAfter = allowedCuts(stages, options.byComponent ?? false);
  const maxHosts = Math.min(options.maxHosts ?? hosts.length, hosts.length);
  let best: Candidate | null = null;
  for (const order of hostOrders(hosts, options.exhaustiveUpTo ?? 5)) {
    const found = bestForOrder(stages, order, cutAfter, maxHosts);
    if (found && (!best || better(found, best))) best = found;
  }
  if (!best) {
    const total = stages.reduce((a, s) => a + s.weightBytes, 0);
    throw new NoShardPlanError(
      `No split of ${stages.length} stages (${total} weight bytes) fits ${maxHosts} host(s)`,
      { detail: { reason: 'memory', weightBytes: total, hosts: maxHosts } },
    );
  }
  return { segments: best.segments, bottleneckMs: best.bottleneckMs };
}

interface Candidate {
  segments: Segment[];
  bottleneckMs: number;
}

const better = (a: Candidate, b: Candidate) =>
  a.bottleneckMs < b.bottleneckMs ||
  (a.bottleneckMs === b.bottleneckMs && a.segments.length < b.segments.length);

/** A stage that no host can hold on its own can never be placed: say which and why. */
function checkEveryStageFitsSomewhere(stages: readonly StageInfo[], hosts: readonly HostSpec[]) {
  for (const [i, s] of stages.entries()) {
    const fits = hosts.some(
      (h) => s.weightBytes <= h.memoryBytes && s.largestTensorBytes <= h.maxBufferBytes,
    );
    if (fits) continue;
    const tooBigForBuffers = hosts.every((h) => s.largestTensorBytes > h.maxBufferBytes);
    throw new NoShardPlanError(
      `Stage ${s.name} (${s.weightBytes} bytes) is bigger than every host's ${
        tooBigForBuffers ? 'largest buffer' : 'memory'
      }`,
      {
        detail: {
          reason: tooBigForBuffers ? 'buffer' : 'memory',
          stage: i,
          name: s.name,
          weightBytes: s.weightBytes,
        },
      },
    );
  }
}

/** cutAfter[i]: a segment may end after stage i. */
function allowedCuts(stages: readonly StageInfo[], byComponent: boolean): boolean[] {
  return stages.map(
    (s, i) => i === stages.length - 1 || !byComponent || s.group !== stages[i + 1]?.group,
  );
}

/** Every order of the hosts when there are few; else fastest first (one order). */
function* hostOrders(hosts: readonly HostSpec[], exhaustiveUpTo: number): Generator<HostSpec[]> {
  if (hosts.length > exhaustiveUpTo) {
    yield [...hosts].sort((a, b) => b.speed - a.speed);
    return;
  }
  const permute = function* (rest: HostSpec[], acc: HostSpec[]): Generator<HostSpec[]> {
    if (rest.length === 0) yield acc;
    for (let i = 0; i < rest.length; i++) {
      yield* permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, rest[i] as HostSpec]);
    }
  };
  yield* permute([...hosts], []);
}

/**
 * Dynamic programme over (hosts of `order` considered, in order — a host may be skipped; hosts
 * used; stages placed) → the smallest bottleneck. Exact for this order; O(hosts² · stages²).
 */
function bestForOrder(
  stages: readonly StageInfo[],
  order: readonly HostSpec[],
  cutAfter: readonly boolean[],
  maxHosts: number,
): Candidate | null {
  const n = stages.length;
  const costPrefix = [0];
  const bytesPrefix = [0];
  for (const s of stages) {
    costPrefix.push((costPrefix.at(-1) as number) + s.cost);
    bytesPrefix.push((bytesPrefix.at(-1) as number) + s.weightBytes);
  }
  // cell(k, u, i): first i stages on u hosts out of order[0..k). `from` is where the segment
  // of host k-1 began (-1: host k-1 was skipped), for walking back.
  type Cell = { ms: number; from: number };
  const table = new Map<string, Cell>();
  const key = (k: number, u: number, i: number) => `${k}:${u}:${i}`;
  const offer = (k: number, u: number, i: number, cell: Cell) => {
    const cur = table.get(key(k, u, i));
    if (!cur || cell.ms < cur.ms) table.set(key(k, u, i), cell);
  };
  table.set(key(0, 0, 0), { ms: 0, from: -1 });
  for (let k = 0; k < order.length; k++) {
    const host = order[k] as HostSpec;
    for (let u = 0; u <= Math.min(k, maxHosts); u++) {
      for (let i = 0; i <= n; i++) {
        const here = table.get(key(k, u, i));
        if (!here) continue;
        offer(k + 1, u, i, { ms: here.ms, from: -1 }); // skip this host
        if (u >= maxHosts) continue;
        let largest = 0;
        for (let j = i; j < n; j++) {
          largest = Math.max(largest, (stages[j] as StageInfo).largestTensorBytes);
          const bytes = (bytesPrefix[j + 1] as number) - (bytesPrefix[i] as number);
          if (bytes > host.memoryBytes || largest > host.maxBufferBytes) break;
          if (!cutAfter[j]) continue;
          const ms = ((costPrefix[j + 1] as number) - (costPrefix[i] as number)) / host.speed;
          offer(k + 1, u + 1, j + 1, { ms: Math.max(here.ms, ms), from: i });
        }
      }
    }
  }
  let bestU = -1;
  let bestMs = Number.POSITIVE_INFINITY;
  for (let u = 1; u <= maxHosts; u++) {
    const cell = table.get(key(order.length, u, n));
    if (cell && cell.ms < bestMs) {
      bestMs = cell.ms;
      bestU = u;
    }
  }
  if (bestU < 0) return null;
  const segments: Segment[] = [];
  let i = n;
  let u = bestU;
  for (let k = order.length; k > 0; k--) {
    const cell = table.get(key(k, u, i)) as Cell;
    if (cell.from < 0) continue;
    const host = order[k - 1] as HostSpec;
    const cost = (costPrefix[i] as number) - (costPrefix[cell.from] as number);
    segments.unshift({
      hostId: host.id,
      from: cell.from,
      to: i - 1,
      weightBytes: (bytesPrefix[i] as number) - (bytesPrefix[cell.from] as number),
      cost,
      ms: cost / host.speed,
    });
    i = cell.from;
    u--;
  }
  return { segments, bottleneckMs: bestMs };
}
