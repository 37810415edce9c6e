import type { GraphScores } from './model.js';
import { linkIdOf, type TelemetryGraph } from './graph.js';
import { LINK_METRICS, NODE_METRICS, type IndexedSnapshot } from './telemetry.js';
import { suggestRemediations, type Suggestion } from './remediation.js';
import type { Scenario } from './simulator.js';

/*
 * Causal root-cause analysis over the anomaly subgraph, MicroRCA-style:
 *  1. each entity (node or link) gets an anomaly signal per history step: the largest robust z-score
 *     of its own metrics against the early part of the history (a node that falls silent is anomalous);
 *  2. anomalous entities and the ends of anomalous links form the candidate set;
 *  3. the causal graph joins adjacent candidates (node–node over a link, node–link), directed from
 *     the earlier onset to the later (time precedence), weighted by the correlation of their signals;
 *  4. a personalised PageRank walks from effects to causes, restarting at anomalous entities;
 *  5. a small learned ranker combines PageRank with the other evidence (own anomaly, onset, the
 *     GraphSAGE score, how many of a node's links degraded, silence), and its softmax share of the
 *     top candidate, Platt-scaled on held-out simulations, is the confidence.
 */

export const RANKER_FEATURES = [
  'pagerank', 'own_anomaly', 'earliness', 'earliest', 'gnn_score', 'is_link',
  'degraded_link_share', 'silent', 'link_with_healthy_ends', 'downstream_share', 'bias_node',
] as const;
export const R = RANKER_FEATURES.length;

export interface RankerParams {
  weights: number[];
  /** Platt scaling of the top candidate's softmax share: conf = σ(a · logit(p) + b). */
  calibA: number;
  calibB: number;
}

/** A neutral ranker (used before training): PageRank and own anomaly only. */
export const DEFAULT_RANKER: RankerParams = { weights: [4, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0], calibA: 1, calibB: 0 };

const THETA = 4; // z above which an entity counts as anomalous
const SILENT = 12; // signal of a node that stopped reporting
const ALPHA = 0.15; // PageRank restart probability

export interface CausalEdge {
  from: string;
  to: string;
  /** |correlation| of the two entities' anomaly signals over the history. */
  weight: number;
}

export interface RootCause {
  entity: string;
  kind: 'node' | 'link';
  /** Ranker's share among candidates (before calibration). */
  score: number;
}

export interface IncidentEvent {
  entity: string;
  kind: 'node' | 'link';
  /** Time of the first anomalous snapshot for this entity. */
  since: string | null;
  signal: number;
  /** Metrics that deviated, e.g. "cpuBusyRatio 0.97 (usual 0.31)". */
  deviations: string[];
}

export interface CausalResult {
  /** True when some entity is anomalous. */
  anomalous: boolean;
  rootCauses: RootCause[];
  /** Calibrated probability that rootCauses[0] is the root cause. */
  confidence: number;
  faultClass: Exclude<Scenario, 'healthy'> | null;
  explanation: string;
  /** Correlated events folded into this incident (causally connected to the top root cause). */
  events: IncidentEvent[];
  /** Anomalies not connected to it (reported, not folded). */
  unrelated: IncidentEvent[];
  graph: { nodes: Array<{ id: string; kind: 'node' | 'link'; signal: number }>; edges: CausalEdge[] };
  suggestions: Suggestion[];
  /** Ranker features per candidate, for training the ranker (same order as `candidates`). */
  candidates: string[];
  features: number[][];
}

interface Signals {
  T: number;
  /** Anomaly signal of every entity (nodes then links of the current snapshot) at the last step. */
  last: Float32Array;
  /** The signal over all steps for one entity (computed on demand, cached). */
  series(e: number): Float32Array;
  silentNow: Uint8Array;
  /** Metrics of one entity that deviate now, with their usual value (for explanations). */
  now(e: number): string[];
}

// Per metric: log-transform heavy-tailed ones; a floor on the spread keeps a flat baseline from
// turning noise into huge z-scores.
const NODE_LOG = [false, false, true, true];
const NODE_FLOOR = [0.04, 0.03, 0.4, 0.12];
const LINK_LOG = [false, true, true];
const LINK_FLOOR = [0.006, 0.12, 0.12];
const NM = NODE_METRICS.length;
const LM = LINK_METRICS.length;
const LS = 3; // link symptoms: loss, latency, throughput (age is not a symptom)

/** Maps the current snapshot's node/link indices into a history snapshot's; null when identical. */
function align(cur: IndexedSnapshot, h: IndexedSnapshot): { node: Int32Array; link: Int32Array } | null {
  if (h.sameLayoutAs === cur) return null;
  const n = cur.nodeIds.length;
  const L = cur.linkEnds.length / 2;
  let same = h.nodeIds.length === n && h.linkEnds.length === cur.linkEnds.length;
  for (let v = 0; same && v < n; v++) same = h.nodeIds[v] === cur.nodeIds[v];
  for (let i = 0; same && i < cur.linkEnds.length; i++) same = h.linkEnds[i] === cur.linkEnds[i];
  if (same) return null;
  const node = new Int32Array(n);
  for (let v = 0; v < n; v++) node[v] = h.index.get(cur.nodeIds[v]!) ?? -1;
  const linkIndex = new Map(h.linkIds.map((id, i) => [id, i]));
  const link = new Int32Array(L);
  for (let l = 0; l < L; l++) link[l] = linkIndex.get(cur.linkIds[l]!) ?? -1;
  return { node, link };
}

/**
 * Anomaly signal per entity: the largest |z| of its own metrics against the mean and spread of the
 * first half of the history. A node that reported before and reports nothing now is SILENT.
 */
export function anomalySignals(history: IndexedSnapshot[]): Signals {
  const cur = history[history.length - 1]!;
  const T = history.length;
  const n = cur.nodeIds.length;
  const L = cur.linkEnds.length / 2;
  const maps = history.map((h) => (h === cur ? null : align(cur, h)));
  const base = T > 1 ? Math.max(1, Math.floor(T / 2)) : 1;
  // Values of one (entity, metric) at step t, transformed; NaN when missing.
  const nodeVal = (v: number, m: number, t: number): number => {
    const map = maps[t];
    const i = map ? map.node[v]! : v;
    if (i < 0) return Number.NaN;
    const x = history[t]!.nodeValues[i * NM + m]!;
    return NODE_LOG[m] ? Math.log1p(x) : x;
  };
  const linkVal = (l: number, m: number, t: number): number => {
    const map = maps[t];
    const i = map ? map.link[l]! : l;
    if (i < 0) return Number.NaN;
    const x = history[t]!.linkValues[i * LM + m]!;
    return LINK_LOG[m] ? Math.log1p(x) : x;
  };
  const nodeMu = new Float64Array(n * NM);
  const nodeSd = new Float64Array(n * NM);
  const nodeSeen = new Uint8Array(n);
  const linkMu = new Float64Array(L * LS);
  const linkSd = new Float64Array(L * LS);
  // Baseline mean and spread over the first `base` steps, per entity and metric (sums in step
  // order, in locals: no per-entity scratch arrays).
  const baseline = (count: number, M: number, W: number, logs: boolean[], floors: number[], mu: Float64Array, sd: Float64Array, which: 'node' | 'link', seen?: Uint8Array) => {
    const vals = history.slice(0, base).map((h) => (which === 'node' ? h.nodeValues : h.linkValues));
    const idxs = maps.slice(0, base).map((map) => (map ? (which === 'node' ? map.node : map.link) : null));
    for (let m = 0; m < M; m++) {
      const isLog = logs[m]!;
      const floor = floors[m]!;
      for (let e = 0; e < count; e++) {
        let sum = 0;
        let sum2 = 0;
        let c = 0;
        for (let t = 0; t < base; t++) {
          const idx = idxs[t]!;
          const i = idx ? idx[e]! : e;
          if (i < 0) continue;
          let x = vals[t]![i * W + m]!;
          if (x !== x) continue;
          if (isLog) x = Math.log1p(x);
          sum += x;
          sum2 += x * x;
          c++;
        }
        const k = e * M + m;
        if (c === 0) {
          mu[k] = Number.NaN;
          sd[k] = 1;
          continue;
        }
        if (seen) seen[e] = 1;
        const a = sum / c;
        mu[k] = a;
        sd[k] = Math.max(Math.sqrt(Math.max(0, sum2 / c - a * a)), floor);
      }
    }
  };
  baseline(n, NM, NM, NODE_LOG, NODE_FLOOR, nodeMu, nodeSd, 'node', nodeSeen);
  baseline(L, LS, LM, LINK_LOG, LINK_FLOOR, linkMu, linkSd, 'link');
  const at = (e: number, t: number): number => {
    let z = 0;
    if (e < n) {
      let seen = 0;
      for (let m = 0; m < NM; m++) {
        const x = nodeVal(e, m, t);
        if (x !== x) continue;
        seen++;
        const mu = nodeMu[e * NM + m]!;
        if (mu === mu) z = Math.max(z, Math.abs(x - mu) / nodeSd[e * NM + m]!);
      }
      if (seen === 0 && nodeSeen[e]) z = SILENT;
    } else {
      const l = e - n;
      for (let m = 0; m < LS; m++) {
        const x = linkVal(l, m, t);
        const mu = linkMu[l * LS + m]!;
        if (x === x && mu === mu) z = Math.max(z, Math.abs(x - mu) / linkSd[l * LS + m]!);
      }
    }
    return Math.min(z, 50);
  };
  // The last step for everyone, straight off the current snapshot's columns (it is `cur`: no map).
  const last = new Float32Array(n + L);
  const silentNow = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    let z = 0;
    let seen = 0;
    for (let m = 0; m < NM; m++) {
      let x = cur.nodeValues[v * NM + m]!;
      if (x !== x) continue;
      seen++;
      if (NODE_LOG[m]) x = Math.log1p(x);
      const mu = nodeMu[v * NM + m]!;
      if (mu === mu) z = Math.max(z, Math.abs(x - mu) / nodeSd[v * NM + m]!);
    }
    if (seen === 0 && nodeSeen[v]) {
      z = SILENT;
      silentNow[v] = 1;
    }
    last[v] = Math.min(z, 50);
  }
  for (let l = 0; l < L; l++) {
    let z = 0;
    for (let m = 0; m < LS; m++) {
      let x = cur.linkValues[l * LM + m]!;
      const mu = linkMu[l * LS + m]!;
      if (x !== x || mu !== mu) continue;
      if (LINK_LOG[m]) x = Math.log1p(x);
      z = Math.max(z, Math.abs(x - mu) / linkSd[l * LS + m]!);
    }
    last[n + l] = Math.min(z, 50);
  }
  const cache = new Map<number, Float32Array>();
  const series = (e: number): Float32Array => {
    let s = cache.get(e);
    if (!s) {
      s = new Float32Array(T);
      for (let t = 0; t < T; t++) s[t] = t === T - 1 ? last[e]! : at(e, t);
      cache.set(e, s);
    }
    return s;
  };
  const now = (e: number): string[] => {
    const out: string[] = [];
    const isNode = e < n;
    const names = isNode ? NODE_METRICS : LINK_METRICS.slice(0, LS);
    const logs = isNode ? NODE_LOG : LINK_LOG;
    const k = isNode ? e : e - n;
    const M = isNode ? NM : LS;
    for (let m = 0; m < M; m++) {
      const mu = (isNode ? nodeMu : linkMu)[k * M + m]!;
      if (mu !== mu) continue;
      const usual = logs[m] ? Math.expm1(mu) : mu;
      const x = isNode ? nodeVal(k, m, T - 1) : linkVal(k, m, T - 1);
      if (x !== x) {
        out.push(`${names[m]} missing (usual ${fmt(usual)})`);
        continue;
      }
      if (Math.abs(x - mu) / (isNode ? nodeSd : linkSd)[k * M + m]! > THETA) out.push(`${names[m]} ${fmt(logs[m] ? Math.expm1(x) : x)} (usual ${fmt(usual)})`);
    }
    return out;
  };
  return { T, last, series, silentNow, now };
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1000 ? x.toExponential(2) : a >= 10 ? x.toFixed(1) : x.toPrecision(3);
}

function corr(a: Float32Array, b: Float32Array): number {
  const T = a.length;
  let ma = 0;
  let mb = 0;
  for (let t = 0; t < T; t++) {
    ma += a[t]!;
    mb += b[t]!;
  }
  ma /= T;
  mb /= T;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let t = 0; t < T; t++) {
    sab += (a[t]! - ma) * (b[t]! - mb);
    saa += (a[t]! - ma) ** 2;
    sbb += (b[t]! - mb) ** 2;
  }
  return saa > 1e-9 && sbb > 1e-9 ? sab / Math.sqrt(saa * sbb) : 0;
}

function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(Math.max(p, 1e-6) / Math.max(1 - p, 1e-6));

export interface CausalInput {
  /** Oldest first; the last is the snapshot the graph was built from. */
  history: IndexedSnapshot[];
  graph: TelemetryGraph;
  scores: GraphScores;
  ranker: RankerParams;
}

/**
 * Anomalous entities, ascending (nodes, then links): the model says so, or the entity's own metrics
 * deviate strongly (a short baseline makes z > THETA alone noisy). The loops over every node and
 * link live in small functions of their own, so they stay optimised whatever the rest does.
 */
function anomalousEntities(scores: GraphScores, last: Float32Array, n: number, L: number): number[] {
  const out: number[] = [];
  for (let v = 0; v < n; v++) if (scores.node[v]! > 0.5 || last[v]! > 2 * THETA) out.push(v);
  for (let l = 0; l < L; l++) if (scores.edge[l]! > 0.5 || last[n + l]! > 2 * THETA) out.push(n + l);
  return out;
}

/** Adjacent candidate pairs in link order: (a, link), (b, link) for a candidate link; (a, b) when both ends are candidates. */
function candidatePairs(linkEnds: Int32Array, isCand: Uint8Array, n: number): number[] {
  const out: number[] = [];
  const L = linkEnds.length / 2;
  for (let l = 0; l < L; l++) {
    const a = linkEnds[2 * l]!;
    const b = linkEnds[2 * l + 1]!;
    const le = n + l;
    if (isCand[le]) out.push(a, le, b, le);
    if (isCand[a] && isCand[b]) out.push(a, b);
  }
  return out;
}

/** Root-cause analysis of one snapshot with its recent history. */
export function analyseCause(inp: CausalInput): CausalResult {
  const { graph: g, scores } = inp;
  const n = g.n;
  const L = g.linkEnds.length / 2;
  const T = inp.history.length;
  const entityId = (e: number) => (e < n ? g.nodeIds[e]! : linkIdOf(g, e - n));
  const kindOf = (e: number): 'node' | 'link' => (e < n ? 'node' : 'link');

  // 1–2. Signals now for everyone; anomalous set and candidates.
  const sig = anomalySignals(inp.history);
  const last = (e: number) => sig.last[e]!;
  const gnn = (e: number) => (e < n ? scores.node[e]! : scores.edge[e - n]!);
  const anomalous = new Set<number>(anomalousEntities(scores, sig.last, n, L));
  const empty: CausalResult = {
    anomalous: false, rootCauses: [], confidence: 1, faultClass: null, explanation: 'No node or link deviates from its recent behaviour: nothing to explain.',
    events: [], unrelated: [], graph: { nodes: [], edges: [] }, suggestions: [], candidates: [], features: [],
  };
  if (anomalous.size === 0) return empty;
  const cand = new Set(anomalous);
  // Per node: how many of its links are anomalous (for the ranker's degraded-link share).
  const badLinks = new Map<number, number>();
  for (const e of anomalous) {
    if (e >= n) {
      const a = g.linkEnds[2 * (e - n)]!;
      const b = g.linkEnds[2 * (e - n) + 1]!;
      cand.add(a);
      cand.add(b);
      badLinks.set(a, (badLinks.get(a) ?? 0) + 1);
      badLinks.set(b, (badLinks.get(b) ?? 0) + 1);
    }
  }
  // Membership by index for the loops over every link below.
  const isCand = new Uint8Array(n + L);
  for (const e of cand) isCand[e] = 1;
  const onset = new Map<number, number>();
  for (const e of cand) {
    const s = sig.series(e);
    let o = Number.POSITIVE_INFINITY;
    for (let t = 0; t < T; t++) if (s[t]! > THETA) { o = t; break; }
    if (anomalous.has(e) && o === Number.POSITIVE_INFINITY) o = T - 1; // flagged by the model only
    onset.set(e, o);
  }

  // 3. Causal graph: adjacency among candidates, time precedence, correlation weights.
  const candList = [...cand];
  const pos = new Map(candList.map((e, i) => [e, i]));
  const causesOf: Array<Array<{ i: number; w: number }>> = candList.map(() => []);
  const edges: CausalEdge[] = [];
  const undirected: number[][] = candList.map(() => []);
  const addPair = (x: number, y: number) => {
    const i = pos.get(x);
    const j = pos.get(y);
    if (i === undefined || j === undefined) return;
    undirected[i]!.push(j);
    undirected[j]!.push(i);
    const ox = onset.get(x)!;
    const oy = onset.get(y)!;
    if (ox === Number.POSITIVE_INFINITY && oy === Number.POSITIVE_INFINITY) return;
    const w = Math.max(0.05, Math.abs(corr(sig.series(x), sig.series(y))));
    if (ox <= oy) {
      causesOf[j]!.push({ i, w });
      edges.push({ from: entityId(x), to: entityId(y), weight: round(w) });
    }
    if (oy <= ox) {
      causesOf[i]!.push({ i: j, w });
      edges.push({ from: entityId(y), to: entityId(x), weight: round(w) });
    }
  };
  const pairs = candidatePairs(g.linkEnds, isCand, n);
  for (let k = 0; k < pairs.length; k += 2) addPair(pairs[k]!, pairs[k + 1]!);

  // 4. Personalised PageRank from effects towards causes.
  // (Typed arrays and flat cause lists: numbers in plain arrays change elements kind from call to
  // call, and the optimised code kept deoptimising here on "wrong map".)
  const C = candList.length;
  const cOff = new Int32Array(C + 1);
  for (let j = 0; j < C; j++) cOff[j + 1] = cOff[j]! + causesOf[j]!.length;
  const cIdx = new Int32Array(cOff[C]!);
  const cW = new Float64Array(cOff[C]!);
  for (let j = 0; j < C; j++) {
    causesOf[j]!.forEach((c, k) => {
      cIdx[cOff[j]! + k] = c.i;
      cW[cOff[j]! + k] = c.w;
    });
  }
  const pers = new Float64Array(C);
  let pz = 0;
  for (let i = 0; i < C; i++) {
    pers[i] = Math.min(last(candList[i]!), 20) / 20 + gnn(candList[i]!);
    pz += pers[i]!;
  }
  pz ||= 1;
  for (let i = 0; i < C; i++) pers[i]! /= pz;
  let pr = pers.slice();
  let next = new Float64Array(C);
  for (let it = 0; it < 50; it++) {
    for (let j = 0; j < C; j++) next[j] = ALPHA * pers[j]!;
    for (let j = 0; j < C; j++) {
      const s0 = cOff[j]!;
      const s1 = cOff[j + 1]!;
      const mass = (1 - ALPHA) * pr[j]!;
      if (s1 === s0) {
        next[j]! += mass;
        continue;
      }
      let wz = 0;
      for (let k = s0; k < s1; k++) wz += cW[k]!;
      for (let k = s0; k < s1; k++) next[cIdx[k]!]! += (mass * cW[k]!) / wz;
    }
    const t = pr;
    pr = next;
    next = t;
  }
  let prMax = -Infinity;
  for (let i = 0; i < C; i++) prMax = Math.max(prMax, pr[i]!);
  prMax ||= 1;

  // 5. Ranker features and scores.
  // First and last onset among anomalous entities (a loop: an array of onsets is Smi or double
  // elements depending on the data, and that too deoptimised the code here call after call).
  let firstOnset = Number.POSITIVE_INFINITY;
  let lastOnset = Number.NEGATIVE_INFINITY;
  for (const e of anomalous) {
    const o = onset.get(e)!;
    if (!Number.isFinite(o)) continue;
    if (o < firstOnset) firstOnset = o;
    if (o > lastOnset) lastOnset = o;
  }
  if (!Number.isFinite(firstOnset)) firstOnset = lastOnset = T - 1;
  // Rows as Float64Arrays while ranking (a plain array's elements kind follows its values, and the
  // dot product below deoptimised on rows of different kinds); plain arrays in the result.
  const rows: Float64Array[] = candList.map((e, i) => {
    const o = onset.get(e)!;
    let share = 0;
    let healthyEnds = 0;
    if (e < n) {
      const deg = g.adj.off[e + 1]! - g.adj.off[e]!;
      share = deg > 0 ? (badLinks.get(e) ?? 0) / deg : 0;
    } else {
      const a = g.linkEnds[2 * (e - n)]!;
      const b = g.linkEnds[2 * (e - n) + 1]!;
      healthyEnds = last(a) <= THETA && last(b) <= THETA ? 1 : 0;
    }
    let downstream = 0;
    for (const j of undirected[i]!) if (onset.get(candList[j]!)! > o && Number.isFinite(onset.get(candList[j]!)!)) downstream++;
    return Float64Array.of(
      pr[i]! / prMax,
      Math.min(last(e), 20) / 20,
      Number.isFinite(o) ? (lastOnset - o) / Math.max(1, T) : -0.5,
      Number.isFinite(o) && o === firstOnset ? 1 : 0,
      gnn(e),
      e < n ? 0 : 1,
      share,
      e < n ? sig.silentNow[e]! : 0,
      healthyEnds,
      downstream / Math.max(1, undirected[i]!.length),
      e < n ? 1 : 0,
    );
  });
  const w = inp.ranker.weights;
  const raw = rows.map((f) => {
    let a = 0;
    for (let k = 0; k < f.length; k++) a += f[k]! * (w[k] ?? 0);
    return a;
  });
  const features = rows.map((f) => Array.from(f));
  const share = softmax(raw);
  const order = candList.map((_, i) => i).sort((a, b) => share[b]! - share[a]!);
  const top = order[0]!;
  const rootE = candList[top]!;
  const confidence = calibrated(share[top]!, inp.ranker);
  const rootCauses = order.slice(0, 5).map((i) => ({ entity: entityId(candList[i]!), kind: kindOf(candList[i]!), score: round(share[i]!) }));

  // Fold the events connected to the root (in the causal graph) into one incident.
  const seen = new Set<number>([top]);
  const queue = [top];
  while (queue.length) {
    const i = queue.shift()!;
    for (const j of undirected[i]!) {
      if (seen.has(j) || !anomalous.has(candList[j]!)) continue;
      seen.add(j);
      queue.push(j);
    }
  }
  const event = (e: number): IncidentEvent => {
    const o = onset.get(e)!;
    return { entity: entityId(e), kind: kindOf(e), since: Number.isFinite(o) ? inp.history[o]!.takenAt ?? null : null, signal: round(last(e)), deviations: sig.now(e) };
  };
  const events = [...seen].map((i) => candList[i]!).filter((e) => anomalous.has(e) || e === rootE).map(event);
  const unrelated = [...anomalous].filter((e) => !seen.has(pos.get(e)!)).map(event);

  // The root's degraded-link share and own anomaly, read once (a feature row is a plain array whose
  // elements kind varies with its values).
  const rootShare = rows[top]![6]!;
  const rootOwn = rows[top]![1]!;
  const faultClass = classify(rootE, rootShare, rootOwn, onset, anomalous, n, sig, g);
  const rootName = entityId(rootE);
  const rootEv = event(rootE);
  const later = events.filter((ev) => ev.entity !== rootName).length;
  const explanation = [
    `${kindOf(rootE)} ${rootName} is the most likely root cause (${faultClass.replace('_', ' ')}, confidence ${(confidence * 100).toFixed(0)} %).`,
    rootEv.deviations.length ? `It deviates: ${rootEv.deviations.join('; ')}.` : sig.silentNow[rootE] ? 'It stopped reporting.' : 'Its own metrics stay near usual; the links around it degraded.',
    Number.isFinite(onset.get(rootE)!) ? `Its anomaly began at ${rootEv.since}${later ? `, no later than the ${later} correlated event(s) folded into this incident` : ''}.` : `${later} correlated event(s) around it are folded into this incident.`,
    rootShare >= 0.5 ? `${Math.round(rootShare * 100)} % of its links degraded together.` : '',
    unrelated.length ? `${unrelated.length} other anomaly(ies) are not connected to it and are listed separately.` : '',
    order.length > 1 ? `Next candidates: ${order.slice(1, 3).map((i) => `${entityId(candList[i]!)} (${(share[i]! * 100).toFixed(0)} %)`).join(', ')}.` : '',
  ].filter(Boolean).join(' ');
  // Present the causal subgraph of this incident (root, its events and their links between them).
  const incidentIds = new Set(events.map((ev) => ev.entity));
  return {
    anomalous: true,
    rootCauses,
    confidence: round(confidence),
    faultClass,
    explanation,
    events,
    unrelated,
    graph: {
      nodes: candList.filter((e) => incidentIds.has(entityId(e))).map((e) => ({ id: entityId(e), kind: kindOf(e), signal: round(last(e)) })),
      edges: edges.filter((ed) => incidentIds.has(ed.from) && incidentIds.has(ed.to)),
    },
    suggestions: suggestRemediations(faultClass, rootName),
    candidates: candList.map(entityId),
    features,
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The fault class from the root's evidence: what kind of entity, silence, link share, spread. */
function classify(root: number, degradedShare: number, ownAnomaly: number, onset: Map<number, number>, anomalous: Set<number>, n: number, sig: Signals, g: TelemetryGraph): Exclude<Scenario, 'healthy'> {
  if (root >= n) return 'link_degradation';
  if (sig.silentNow[root]) return 'partition';
  // Neighbouring nodes that became anomalous after the root: spread.
  let spread = 0;
  const o = onset.get(root)!;
  for (let j = g.adj.off[root]!; j < g.adj.off[root + 1]!; j++) {
    const u = g.adj.nbr[j]!;
    if (anomalous.has(u) && (onset.get(u) ?? Number.POSITIVE_INFINITY) > o && sig.last[u]! > THETA) spread++;
  }
  if (spread >= 2) return 'cascade_failure';
  if (degradedShare >= 0.5 && ownAnomaly < 0.5) return 'interference';
  return 'node_overload';
}

/** Trains the ranker's weights (listwise softmax cross-entropy) on labelled candidate sets. */
export function trainRanker(sets: Array<{ features: number[][]; truth: number }>, opts: { epochs?: number; lr?: number; l2?: number } = {}): number[] {
  const epochs = opts.epochs ?? 300;
  const lr = opts.lr ?? 0.5;
  const l2 = opts.l2 ?? 1e-3;
  const w = DEFAULT_RANKER.weights.slice();
  const usable = sets.filter((s) => s.truth >= 0);
  for (let ep = 0; ep < epochs; ep++) {
    const grad = new Array<number>(R).fill(0);
    for (const s of usable) {
      const p = softmax(s.features.map((f) => f.reduce((a, x, k) => a + x * w[k]!, 0)));
      for (let i = 0; i < s.features.length; i++) {
        const d = p[i]! - (i === s.truth ? 1 : 0);
        for (let k = 0; k < R; k++) grad[k]! += d * s.features[i]![k]!;
      }
    }
    for (let k = 0; k < R; k++) w[k]! -= lr * (grad[k]! / Math.max(1, usable.length) + l2 * w[k]!);
  }
  return w;
}

/** The calibrated confidence for a top candidate's softmax share. */
export function calibrated(share: number, r: Pick<RankerParams, 'calibA' | 'calibB'>): number {
  return sigmoid(r.calibA * logit(share) + r.calibB);
}

/** Platt scaling of top-share → correctness; returns [a, b]. */
export function fitCalibration(points: Array<{ p: number; correct: boolean }>): [number, number] {
  let a = 1;
  let b = 0;
  for (let it = 0; it < 2000; it++) {
    let ga = 0;
    let gb = 0;
    for (const pt of points) {
      const z = logit(pt.p);
      const q = sigmoid(a * z + b);
      const d = q - (pt.correct ? 1 : 0);
      ga += d * z;
      gb += d;
    }
    a -= (0.05 * ga) / Math.max(1, points.length);
    b -= (0.05 * gb) / Math.max(1, points.length);
  }
  return [a, b];
}

/** Expected calibration error over equal-width confidence bins. */
export function expectedCalibrationError(points: Array<{ confidence: number; correct: boolean }>, bins = 10): number {
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const inBin = points.filter((p) => Math.min(bins - 1, Math.floor(p.confidence * bins)) === b);
    if (inBin.length === 0) continue;
    const acc = inBin.filter((p) => p.correct).length / inBin.length;
    const conf = inBin.reduce((a, p) => a + p.confidence, 0) / inBin.length;
    ece += (inBin.length / points.length) * Math.abs(acc - conf);
  }
  return ece;
}
