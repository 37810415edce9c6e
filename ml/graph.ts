import { LINK_METRICS, linkId, NODE_METRICS, type IndexedSnapshot } from './telemetry.js';

/** Node input features, in order. Raw values are transformed (log for heavy tails), then normalised. */
export const NODE_FEATURES = [
  'cpu', 'mem', 'log_drops', 'log_syscall_p99',
  'link_loss_mean', 'link_loss_max', 'link_log_latency_mean', 'link_log_latency_max',
  'link_log_throughput_mean', 'link_log_throughput_min', 'link_log_age_min', 'log_degree',
  'own_missing_share', 'link_missing_share',
] as const;
/** Edge input features, in order. */
export const EDGE_FEATURES = ['loss', 'log_latency', 'log_throughput', 'log_age', 'missing_share'] as const;
export const F_NODE = NODE_FEATURES.length;
export const F_EDGE = EDGE_FEATURES.length;
/** Flags are already in [0, 1] and not normalised: they say how much of the row was imputed. */
const NODE_FLAG_FROM = 12;
const EDGE_FLAG_FROM = 4;

/** Mean and standard deviation per feature, measured on healthy training graphs and stored with the model. */
export interface FeatureStats {
  nodeMean: number[];
  nodeStd: number[];
  edgeMean: number[];
  edgeStd: number[];
}

/** Adjacency in compressed sparse rows: neighbours of node v are nbr[off[v]..off[v+1]). */
export interface Csr {
  off: Int32Array;
  nbr: Int32Array;
}

/** The telemetry graph: normalised features plus what was imputed. */
export interface TelemetryGraph {
  n: number;
  nodeIds: string[];
  linkIds: string[];
  linkEnds: Int32Array;
  adj: Csr;
  /** [n × F_NODE] normalised node features (missing values imputed with the stored mean). */
  x: Float32Array;
  /** [L × F_EDGE] normalised edge features. */
  edgeX: Float32Array;
  /** Count of metric values that were missing and imputed. */
  imputed: number;
}

/** The id of link l (the same string as g.linkIds[l], without building every link's id). */
export function linkIdOf(g: Pick<TelemetryGraph, 'nodeIds' | 'linkEnds'>, l: number): string {
  return linkId(g.nodeIds[g.linkEnds[2 * l]!]!, g.nodeIds[g.linkEnds[2 * l + 1]!]!);
}

/** Undirected adjacency from the link list. */
export function csrFromLinks(n: number, linkEnds: Int32Array): Csr {
  const deg = new Int32Array(n);
  const L = linkEnds.length / 2;
  for (let l = 0; l < L; l++) {
    deg[linkEnds[2 * l]!]!++;
    deg[linkEnds[2 * l + 1]!]!++;
  }
  const off = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) off[v + 1] = off[v]! + deg[v]!;
  const fill = off.slice(0, n);
  const nbr = new Int32Array(off[n]!);
  for (let l = 0; l < L; l++) {
    const a = linkEnds[2 * l]!;
    const b = linkEnds[2 * l + 1]!;
    nbr[fill[a]!++] = b;
    nbr[fill[b]!++] = a;
  }
  return { off, nbr };
}

const log1p = Math.log1p;

/** Raw (un-normalised) features; NaN where a value is missing. */
export function rawFeatures(s: IndexedSnapshot): { node: Float64Array; edge: Float64Array; imputed: number } {
  const n = s.nodeIds.length;
  const L = s.linkEnds.length / 2;
  const NM = NODE_METRICS.length;
  const LM = LINK_METRICS.length;
  const node = new Float64Array(n * F_NODE);
  const edge = new Float64Array(L * F_EDGE);
  const lv = s.linkValues;
  let imputed = 0;
  for (let l = 0; l < L; l++) {
    const o = l * LM;
    const p = l * F_EDGE;
    const v0 = lv[o]!;
    const v1 = lv[o + 1]!;
    const v2 = lv[o + 2]!;
    const v3 = lv[o + 3]!;
    edge[p] = v0;
    edge[p + 1] = log1p(v1);
    edge[p + 2] = log1p(v2);
    edge[p + 3] = log1p(v3);
    const miss = (v0 !== v0 ? 1 : 0) + (v1 !== v1 ? 1 : 0) + (v2 !== v2 ? 1 : 0) + (v3 !== v3 ? 1 : 0);
    edge[p + 4] = miss / LM;
    imputed += miss;
  }
  // Per-node aggregates over incident links, skipping missing values.
  const sum = new Float64Array(n * 3);
  const cnt = new Float64Array(n * 3);
  const mx = new Float64Array(n * 2).fill(Number.NaN);
  const mn = new Float64Array(n * 2).fill(Number.NaN);
  const deg = new Float64Array(n);
  const linkMiss = new Float64Array(n);
  const ends = s.linkEnds;
  const onEnd = (v: number, p: number) => {
    deg[v]!++;
    linkMiss[v]! += edge[p + 4]!;
    for (let k = 0; k < 3; k++) {
      const x = edge[p + k]!;
      if (x !== x) continue;
      sum[v * 3 + k]! += x;
      cnt[v * 3 + k]!++;
    }
    const e0 = edge[p]!;
    const e1 = edge[p + 1]!;
    const e2 = edge[p + 2]!;
    const e3 = edge[p + 3]!;
    if (e0 === e0 && !(mx[v * 2]! >= e0)) mx[v * 2] = e0;
    if (e1 === e1 && !(mx[v * 2 + 1]! >= e1)) mx[v * 2 + 1] = e1;
    if (e2 === e2 && !(mn[v * 2]! <= e2)) mn[v * 2] = e2;
    if (e3 === e3 && !(mn[v * 2 + 1]! <= e3)) mn[v * 2 + 1] = e3;
  };
  for (let l = 0; l < L; l++) {
    onEnd(ends[2 * l]!, l * F_EDGE);
    onEnd(ends[2 * l + 1]!, l * F_EDGE);
  }
  const nv = s.nodeValues;
  for (let v = 0; v < n; v++) {
    const o = v * NM;
    const f = v * F_NODE;
    const o0 = nv[o]!;
    const o1 = nv[o + 1]!;
    const o2 = nv[o + 2]!;
    const o3 = nv[o + 3]!;
    node[f] = o0;
    node[f + 1] = o1;
    node[f + 2] = log1p(o2);
    node[f + 3] = log1p(o3);
    node[f + 4] = cnt[v * 3]! > 0 ? sum[v * 3]! / cnt[v * 3]! : Number.NaN;
    node[f + 5] = mx[v * 2]!;
    node[f + 6] = cnt[v * 3 + 1]! > 0 ? sum[v * 3 + 1]! / cnt[v * 3 + 1]! : Number.NaN;
    node[f + 7] = mx[v * 2 + 1]!;
    node[f + 8] = cnt[v * 3 + 2]! > 0 ? sum[v * 3 + 2]! / cnt[v * 3 + 2]! : Number.NaN;
    node[f + 9] = mn[v * 2]!;
    node[f + 10] = mn[v * 2 + 1]!;
    node[f + 11] = log1p(deg[v]!);
    const miss = (o0 !== o0 ? 1 : 0) + (o1 !== o1 ? 1 : 0) + (o2 !== o2 ? 1 : 0) + (o3 !== o3 ? 1 : 0);
    node[f + 12] = miss / NM;
    node[f + 13] = deg[v]! > 0 ? linkMiss[v]! / deg[v]! : 0;
    imputed += miss;
  }
  return { node, edge, imputed };
}

/** Mean/std per column over rows of several raw matrices, ignoring missing values. */
function columnStats(mats: Float64Array[], width: number, flagsFrom: number): { mean: number[]; std: number[] } {
  const s = new Array<number>(width).fill(0);
  const s2 = new Array<number>(width).fill(0);
  const c = new Array<number>(width).fill(0);
  for (const m of mats) {
    for (let i = 0; i < m.length; i++) {
      const x = m[i]!;
      if (Number.isNaN(x)) continue;
      const k = i % width;
      s[k]! += x;
      s2[k]! += x * x;
      c[k]!++;
    }
  }
  const mean = s.map((v, k) => (k >= flagsFrom || c[k] === 0 ? 0 : v / c[k]!));
  const std = s2.map((v, k) => {
    if (k >= flagsFrom || c[k] === 0) return 1;
    const varc = v / c[k]! - mean[k]! ** 2;
    return Math.max(Math.sqrt(Math.max(varc, 0)), 1e-3);
  });
  return { mean, std };
}

/** Normalisation statistics from raw features of (healthy) training snapshots. */
export function computeFeatureStats(raws: Array<{ node: Float64Array; edge: Float64Array }>): FeatureStats {
  const nodeS = columnStats(raws.map((r) => r.node), F_NODE, NODE_FLAG_FROM);
  const edgeS = columnStats(raws.map((r) => r.edge), F_EDGE, EDGE_FLAG_FROM);
  return { nodeMean: nodeS.mean, nodeStd: nodeS.std, edgeMean: edgeS.mean, edgeStd: edgeS.std };
}

/** z-scores, clipped to ±clip; a missing value becomes 0 (the stored mean) and is counted in the row's flag. */
function normalise(raw: Float64Array, width: number, flagsFrom: number, mean: number[], std: number[], clip = 20): Float32Array {
  const out = new Float32Array(raw.length);
  const mu = Float64Array.from(mean);
  const sd = Float64Array.from(std);
  for (let r = 0; r < raw.length; r += width) {
    for (let k = 0; k < flagsFrom; k++) {
      const x = raw[r + k]!;
      out[r + k] = x !== x ? 0 : Math.max(-clip, Math.min(clip, (x - mu[k]!) / sd[k]!));
    }
    for (let k = flagsFrom; k < width; k++) out[r + k] = raw[r + k]!;
  }
  return out;
}

/** Builds the model's input graph from a validated snapshot and the model's stored statistics. */
export function buildGraph(s: IndexedSnapshot, stats: FeatureStats): TelemetryGraph {
  const raw = rawFeatures(s);
  return new Built(
    s,
    csrFromLinks(s.nodeIds.length, s.linkEnds),
    normalise(raw.node, F_NODE, NODE_FLAG_FROM, stats.nodeMean, stats.nodeStd),
    normalise(raw.edge, F_EDGE, EDGE_FLAG_FROM, stats.edgeMean, stats.edgeStd),
    raw.imputed,
  );
}

/** A graph built from a snapshot; link ids come from it on first use (analysis names only a few links: linkIdOf). */
class Built implements TelemetryGraph {
  readonly n: number;
  readonly nodeIds: string[];
  readonly linkEnds: Int32Array;
  constructor(private readonly s: IndexedSnapshot, readonly adj: Csr, readonly x: Float32Array, readonly edgeX: Float32Array, readonly imputed: number) {
    this.n = s.nodeIds.length;
    this.nodeIds = s.nodeIds;
    this.linkEnds = s.linkEnds;
  }
  get linkIds(): string[] {
    return this.s.linkIds;
  }
}
