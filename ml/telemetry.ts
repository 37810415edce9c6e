import type { HostSnapshot } from '../common/host-snapshot.js';

/**
 * The mesh as the ML worker sees it at one instant: nodes (from each node worker's snapshot) and
 * the links between them. A metric that is `null` or absent was not measured (a silent node, a
 * probe that did not answer): it is imputed and flagged, never guessed silently. A metric that is
 * NaN, infinite or out of its range is malformed input and rejected.
 */
export interface NodeTelemetry {
  nodeId: string;
  /** 0..1 share of CPU time busy over the interval. */
  cpuBusyRatio?: number | null;
  /** 0..1 share of memory in use. */
  memUsedRatio?: number | null;
  /** Packets dropped per second over all interfaces. */
  dropsPerSec?: number | null;
  /** p99 syscall latency in microseconds (from the syscall tracer). */
  syscallP99Us?: number | null;
}

export interface LinkTelemetry {
  /** Node ids of the two ends; the link is undirected. */
  a: string;
  b: string;
  /** 0..1 share of probes lost. */
  lossRatio?: number | null;
  latencyMs?: number | null;
  throughputBps?: number | null;
  /** Seconds since the link (adjacency) came up. */
  ageSec?: number | null;
}

export interface MeshSnapshot {
  takenAt: string;
  nodes: NodeTelemetry[];
  links: LinkTelemetry[];
}

export const NODE_METRICS = ['cpuBusyRatio', 'memUsedRatio', 'dropsPerSec', 'syscallP99Us'] as const;
export const LINK_METRICS = ['lossRatio', 'latencyMs', 'throughputBps', 'ageSec'] as const;
export type NodeMetric = (typeof NODE_METRICS)[number];
export type LinkMetric = (typeof LINK_METRICS)[number];

const RANGES: Record<NodeMetric | LinkMetric, [number, number]> = {
  cpuBusyRatio: [0, 1],
  memUsedRatio: [0, 1],
  dropsPerSec: [0, Number.MAX_VALUE],
  syscallP99Us: [0, Number.MAX_VALUE],
  lossRatio: [0, 1],
  latencyMs: [0, Number.MAX_VALUE],
  throughputBps: [0, Number.MAX_VALUE],
  ageSec: [0, Number.MAX_VALUE],
};

/** Thrown for telemetry that cannot be analysed; the message says which value is wrong. */
export class TelemetryError extends Error {
  override name = 'TelemetryError';
}

/** Canonical id of an undirected link. */
export function linkId(a: string, b: string): string {
  return a < b ? `${a}--${b}` : `${b}--${a}`;
}

/** A node's telemetry from the node worker's host snapshot (plus the tracer's p99, when it runs). */
export function nodeTelemetryFromHost(s: HostSnapshot, syscallP99Us?: number | null): NodeTelemetry {
  let drops = 0;
  for (const i of s.interfaces) drops += i.rxDroppedPerSec + i.txDroppedPerSec;
  return {
    nodeId: s.nodeId,
    cpuBusyRatio: s.cpuBusyRatio,
    memUsedRatio: s.memTotalBytes > 0 ? 1 - s.memAvailableBytes / s.memTotalBytes : null,
    dropsPerSec: drops,
    syscallP99Us: syscallP99Us ?? null,
  };
}

/** A value read from telemetry: a number, or NaN when it was not measured (null or absent). */
function checkMetric(v: unknown, name: NodeMetric | LinkMetric, where: string, i: number, hi: number): number {
  if (typeof v === 'number' && v >= 0 && v <= hi) return v; // the common case, without lookups
  if (v === null || v === undefined) return Number.NaN;
  if (typeof v !== 'number') throw new TelemetryError(`${where}[${i}].${name} must be a number or null, got ${typeof v}`);
  if (!Number.isFinite(v)) throw new TelemetryError(`${where}[${i}].${name} is ${v}: use null for a value that was not measured`);
  throw new TelemetryError(`${where}[${i}].${name} = ${v} is outside [${RANGES[name][0]}, ${RANGES[name][1]}]`);
}
const MAX = Number.MAX_VALUE;

/**
 * The set of links (unordered index pairs) seen so far: open addressing over two Int32Arrays,
 * sized for `capacity` pairs (a Set of numeric keys costs several times more per link).
 */
class PairSet {
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly mask: number;
  constructor(capacity: number) {
    let size = 16;
    while (size < 2 * capacity) size *= 2;
    this.lo = new Int32Array(size).fill(-1);
    this.hi = new Int32Array(size);
    this.mask = size - 1;
  }
  /** Adds {a, b}; false when it was there already. */
  add(a: number, b: number): boolean {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    let i = (Math.imul(lo, 0x9e3779b1) ^ Math.imul(hi, 0x85ebca6b)) & this.mask;
    for (;;) {
      const k = this.lo[i]!;
      if (k === -1) {
        this.lo[i] = lo;
        this.hi[i] = hi;
        return true;
      }
      if (k === lo && this.hi[i] === hi) return false;
      i = (i + 1) & this.mask;
    }
  }
}

/** One snapshot in columnar form: values by node/link index, NaN where not measured. */
export interface IndexedSnapshot {
  takenAt: string;
  nodeIds: string[];
  index: Map<string, number>;
  /** [node][metric] row-major, NODE_METRICS order; NaN = missing. */
  nodeValues: Float64Array;
  /** Set when nodes and links are those of this snapshot, in the same order (values may differ). */
  sameLayoutAs?: IndexedSnapshot;
  /** Canonical link ids (`a--b`, a < b). */
  linkIds: string[];
  linkEnds: Int32Array; // [2*l] = a index, [2*l+1] = b index
  /** [link][metric] row-major, LINK_METRICS order; NaN = missing. */
  linkValues: Float64Array;
}

/**
 * Validates a snapshot and lays it out in columns. Rejects what cannot be right (duplicate or
 * invalid ids, links to unknown nodes, self-loops, non-finite or out-of-range values).
 * `like`: a snapshot indexed before (e.g. the next one in a history); when the node ids are the
 * same, in the same order, its index is reused.
 */
export function indexSnapshot(s: MeshSnapshot, where = 'snapshot', like?: IndexedSnapshot): IndexedSnapshot {
  if (!s || typeof s !== 'object') throw new TelemetryError(`${where} must be an object`);
  if (!Array.isArray(s.nodes)) throw new TelemetryError(`${where}.nodes must be an array`);
  if (!Array.isArray(s.links)) throw new TelemetryError(`${where}.links must be an array`);
  if (typeof s.takenAt !== 'string' || Number.isNaN(Date.parse(s.takenAt))) throw new TelemetryError(`${where}.takenAt must be an ISO time, got ${JSON.stringify(s.takenAt)}`);
  if (s.nodes.length === 0) throw new TelemetryError(`${where}.nodes is empty`);
  const n = s.nodes.length;
  // While the ids are `like`'s, in its order, its id array is shared (a copy is made at the first
  // id that differs).
  const likeIds = like !== undefined && like.nodeIds.length === n ? like.nodeIds : undefined;
  let ids: string[] | undefined = likeIds ? undefined : new Array<string>(n);
  const nodeValues = new Float64Array(n * NODE_METRICS.length);
  const wn = `${where}.nodes`;
  for (let i = 0; i < n; i++) {
    const node = s.nodes[i]!;
    if (!node || typeof node.nodeId !== 'string' || node.nodeId.length === 0) throw new TelemetryError(`${wn}[${i}].nodeId must be a non-empty string`);
    if (ids) ids[i] = node.nodeId;
    else if (likeIds![i] !== node.nodeId) {
      ids = likeIds!.slice();
      ids[i] = node.nodeId;
    }
    // The common case (a number in range) is tested inline; anything else goes to checkMetric,
    // which returns NaN for a missing value and throws for a malformed one.
    const o = i * 4;
    const c = node.cpuBusyRatio;
    const m = node.memUsedRatio;
    const d = node.dropsPerSec;
    const y = node.syscallP99Us;
    nodeValues[o] = typeof c === 'number' && c >= 0 && c <= 1 ? c : checkMetric(c, 'cpuBusyRatio', wn, i, 1);
    nodeValues[o + 1] = typeof m === 'number' && m >= 0 && m <= 1 ? m : checkMetric(m, 'memUsedRatio', wn, i, 1);
    nodeValues[o + 2] = typeof d === 'number' && d >= 0 && d <= MAX ? d : checkMetric(d, 'dropsPerSec', wn, i, MAX);
    nodeValues[o + 3] = typeof y === 'number' && y >= 0 && y <= MAX ? y : checkMetric(y, 'syscallP99Us', wn, i, MAX);
  }
  const same = ids === undefined;
  const nodeIds = ids ?? likeIds!;
  let index: Map<string, number>;
  if (same) index = like!.index;
  else {
    index = new Map();
    for (let i = 0; i < n; i++) {
      if (index.has(nodeIds[i]!)) throw new TelemetryError(`${wn}[${i}]: duplicate node id ${JSON.stringify(nodeIds[i])}`);
      index.set(nodeIds[i]!, i);
    }
  }
  const L = s.links.length;
  const linkValues = new Float64Array(L * LINK_METRICS.length);
  const wl = `${where}.links`;
  // With `like`'s node order, a link whose ends are the ones `like` had at the same position needs
  // no lookups and no duplicate check (`like` passed them); others are resolved and checked.
  // While every link matches, `like`'s end array is shared (copied at the first that does not).
  const likeEnds = same && like!.linkEnds.length === 2 * L ? like!.linkEnds : undefined;
  let ends: Int32Array | undefined = likeEnds ? undefined : new Int32Array(2 * L);
  let seen: PairSet | undefined;
  for (let l = 0; l < L; l++) {
    const link = s.links[l]!;
    if (!link || typeof link.a !== 'string' || typeof link.b !== 'string') throw new TelemetryError(`${wl}[${l}] must have string ends a and b`);
    if (likeEnds && nodeIds[likeEnds[2 * l]!] === link.a && nodeIds[likeEnds[2 * l + 1]!] === link.b) {
      if (ends) {
        ends[2 * l] = likeEnds[2 * l]!;
        ends[2 * l + 1] = likeEnds[2 * l + 1]!;
      }
    } else {
      if (!ends) {
        ends = new Int32Array(2 * L);
        ends.set(likeEnds!.subarray(0, 2 * l));
      }
      const linkEnds = ends;
      const ia = index.get(link.a);
      const ib = index.get(link.b);
      if (ia === undefined) throw new TelemetryError(`${wl}[${l}].a: unknown node id ${JSON.stringify(link.a)}`);
      if (ib === undefined) throw new TelemetryError(`${wl}[${l}].b: unknown node id ${JSON.stringify(link.b)}`);
      if (ia === ib) throw new TelemetryError(`${wl}[${l}]: a link from ${JSON.stringify(link.a)} to itself`);
      linkEnds[2 * l] = ia;
      linkEnds[2 * l + 1] = ib;
      if (!seen) {
        // First link off the fast path: check every link seen so far, then go on checking.
        seen = new PairSet(L);
        for (let k = 0; k < l; k++) seen.add(linkEnds[2 * k]!, linkEnds[2 * k + 1]!);
      }
    }
    if (seen && !seen.add(ends![2 * l]!, ends![2 * l + 1]!)) throw new TelemetryError(`${wl}[${l}]: duplicate link ${linkId(link.a, link.b)}`);
    const o = l * 4;
    const lo = link.lossRatio;
    const la = link.latencyMs;
    const th = link.throughputBps;
    const ag = link.ageSec;
    linkValues[o] = typeof lo === 'number' && lo >= 0 && lo <= 1 ? lo : checkMetric(lo, 'lossRatio', wl, l, 1);
    linkValues[o + 1] = typeof la === 'number' && la >= 0 && la <= MAX ? la : checkMetric(la, 'latencyMs', wl, l, MAX);
    linkValues[o + 2] = typeof th === 'number' && th >= 0 && th <= MAX ? th : checkMetric(th, 'throughputBps', wl, l, MAX);
    linkValues[o + 3] = typeof ag === 'number' && ag >= 0 && ag <= MAX ? ag : checkMetric(ag, 'ageSec', wl, l, MAX);
  }
  if (!likeEnds && !seen && L > 0) throw new Error('unreachable: links were neither matched nor checked');
  return new Indexed(s.takenAt, nodeIds, index, nodeValues, ends ?? likeEnds!, linkValues, likeEnds && !seen ? like : undefined);
}

/**
 * An IndexedSnapshot as a class: the lazy linkIds getter lives on the prototype, so every
 * snapshot has the same hidden class (an object literal with a getter got a new one each time,
 * and the code reading snapshots kept deoptimising on "wrong map").
 */
class Indexed implements IndexedSnapshot {
  private ids: string[] | undefined;
  constructor(
    readonly takenAt: string,
    readonly nodeIds: string[],
    readonly index: Map<string, number>,
    readonly nodeValues: Float64Array,
    readonly linkEnds: Int32Array,
    readonly linkValues: Float64Array,
    readonly sameLayoutAs: IndexedSnapshot | undefined,
  ) {}
  /** Built on first use: most history snapshots are aligned by index and never need them. */
  get linkIds(): string[] {
    if (!this.ids) {
      const { nodeIds, linkEnds } = this;
      this.ids = Array.from({ length: linkEnds.length / 2 }, (_, l) => linkId(nodeIds[linkEnds[2 * l]!]!, nodeIds[linkEnds[2 * l + 1]!]!));
    }
    return this.ids;
  }
}
