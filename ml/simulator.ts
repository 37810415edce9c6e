import { Rng } from './rng.js';
import { linkId, type LinkTelemetry, type MeshSnapshot, type NodeTelemetry } from './telemetry.js';

/** Fault classes the simulator produces, with ground truth. Index 0 is 'no fault'. */
export const SCENARIOS = ['healthy', 'link_degradation', 'node_overload', 'cascade_failure', 'interference', 'partition'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const FAULTS = SCENARIOS.slice(1) as Exclude<Scenario, 'healthy'>[];

/** One simulated incident: recent history ending in the (possibly) anomalous snapshot, and the truth. */
export interface SimIncident {
  scenario: Scenario;
  /** Node id or link id (`a--b`) that caused it; null when healthy. */
  rootCause: string | null;
  /** Oldest first; the last entry is the snapshot to analyse. */
  history: MeshSnapshot[];
  /** Per node of the last snapshot: 0 = unaffected, else the index in SCENARIOS of the fault affecting it. */
  nodeLabel: Int32Array;
  /** Per link of the last snapshot: 1 = degraded by the fault. */
  edgeLabel: Uint8Array;
  /** Step at which the fault began (index into history); -1 when healthy. */
  onset: number;
}

export interface SimOptions {
  nodes: number;
  scenario: Scenario;
  seed: number;
  /** Snapshots of history including the last (default 12). */
  steps?: number;
  /** Fault strength in [0, 1]; drawn in [0.15, 1] when not given. */
  severity?: number;
  /** Probability of an unrelated transient spike somewhere (a distractor); default 0.5. */
  distractorRate?: number;
  /** Probability that any one metric value is missing; default 0.005. */
  missingRate?: number;
}

/** A mesh: a jittered lattice with a spanning tree of row links, random column links and diagonals. */
export function meshTopology(n: number, rng: Rng): Array<[number, number]> {
  const side = Math.max(1, Math.ceil(Math.sqrt(n)));
  const edges: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / side);
    const c = i % side;
    if (c + 1 < side && i + 1 < n) edges.push([i, i + 1]);
    const down = i + side;
    if (down < n && (c === 0 || rng.next() < 0.7)) edges.push([i, down]);
    if (c + 1 < side && down + 1 < n && rng.next() < 0.15) edges.push([i, down + 1]);
    if (r === 0 && c === 0 && n > 1 && side === 1) edges.push([i, i + 1]);
  }
  return edges;
}

interface NodeState { cpu: number; mem: number; drops: number; sys: number }
interface LinkState { loss: number; lat: number; tput: number; age: number }

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Simulates `steps` snapshots of a mesh with one fault of the given class starting part-way. */
export function simulateIncident(o: SimOptions): SimIncident {
  const rng = new Rng(o.seed);
  const T = o.steps ?? 12;
  const n = o.nodes;
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  const edges = meshTopology(n, rng);
  const L = edges.length;
  const incident: number[][] = Array.from({ length: n }, () => []);
  edges.forEach(([a, b], l) => {
    incident[a]!.push(l);
    incident[b]!.push(l);
  });
  const baseN: NodeState[] = ids.map(() => ({ cpu: rng.uniform(0.05, 0.5), mem: rng.uniform(0.2, 0.7), drops: rng.uniform(0, 2), sys: rng.uniform(15, 80) }));
  const baseL: LinkState[] = edges.map(() => ({ loss: rng.uniform(0.0005, 0.01), lat: rng.uniform(1, 15), tput: Math.exp(rng.uniform(Math.log(1e6), Math.log(5e7))), age: Math.exp(rng.uniform(Math.log(600), Math.log(1e6))) }));

  const severity = o.severity ?? rng.uniform(0.15, 1);
  const scenario = o.scenario;
  const onset = scenario === 'healthy' ? -1 : scenario === 'cascade_failure' ? rng.int(T - 7, T - 4) : rng.int(T - 6, T - 2);
  const nodeLabel = new Int32Array(n);
  const edgeLabel = new Uint8Array(L);
  const cls = SCENARIOS.indexOf(scenario);
  let rootCause: string | null = null;
  // Per node/link: the step from which an effect applies, and its strength.
  const overloadAt = new Map<number, { from: number; s: number }>();
  const linkFault = new Map<number, { from: number; loss: number; lat: number; tput: number }>();
  const silentFrom = new Map<number, number>();
  const extraDrops = new Map<number, { from: number; d: number }>();

  const pickNode = () => rng.int(0, n);
  if (scenario === 'link_degradation') {
    const l = rng.int(0, L);
    const [a, b] = edges[l]!;
    rootCause = linkId(ids[a]!, ids[b]!);
    linkFault.set(l, { from: onset, loss: 0.04 + 0.3 * severity, lat: 1.5 + 3 * severity, tput: 1 - 0.5 * severity });
    edgeLabel[l] = 1;
    nodeLabel[a] = cls;
    nodeLabel[b] = cls;
  } else if (scenario === 'node_overload' || scenario === 'cascade_failure') {
    const v = pickNode();
    rootCause = ids[v]!;
    overloadAt.set(v, { from: onset, s: severity });
    if (scenario === 'cascade_failure') {
      for (const l of incident[v]!) {
        const [a, b] = edges[l]!;
        const u = a === v ? b : a;
        if (!overloadAt.has(u)) overloadAt.set(u, { from: onset + 1 + rng.int(0, 2), s: severity * rng.uniform(0.6, 1.3) });
      }
    }
    for (const [u] of overloadAt) {
      nodeLabel[u] = cls;
      for (const l of incident[u]!) edgeLabel[l] = 1;
    }
  } else if (scenario === 'interference') {
    const v = pickNode();
    rootCause = ids[v]!;
    nodeLabel[v] = cls;
    extraDrops.set(v, { from: onset, d: 10 * severity });
    for (const l of incident[v]!) {
      linkFault.set(l, { from: onset, loss: 0.03 + 0.2 * severity, lat: 1.3 + 2 * severity, tput: 1 - 0.4 * severity });
      edgeLabel[l] = 1;
      const [a, b] = edges[l]!;
      nodeLabel[a === v ? b : a] = cls;
    }
  } else if (scenario === 'partition') {
    const v = pickNode();
    rootCause = ids[v]!;
    silentFrom.set(v, onset);
    nodeLabel[v] = cls;
    for (const l of incident[v]!) {
      edgeLabel[l] = 1;
      const [a, b] = edges[l]!;
      nodeLabel[a === v ? b : a] = cls;
    }
  }
  // Distractors: short spikes on nodes the fault does not touch (up to two, 1–3 steps each).
  const distractors = new Map<number, { from: number; to: number; s: number }>();
  for (let k = 0; k < 2; k++) {
    if (!(rng.next() < (o.distractorRate ?? 0.5)) || n <= 4) continue;
    for (let tries = 0; tries < 10; tries++) {
      const v = pickNode();
      if (nodeLabel[v] === 0 && !distractors.has(v)) {
        const from = rng.int(Math.max(0, T - 6), T);
        distractors.set(v, { from, to: from + rng.int(0, 3), s: rng.uniform(0.2, 0.5) });
        break;
      }
    }
  }

  const missing = o.missingRate ?? 0.005;
  const maybe = (x: number) => (rng.next() < missing ? null : x);
  const history: MeshSnapshot[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let t = 0; t < T; t++) {
    const nodes: NodeTelemetry[] = new Array(n);
    for (let v = 0; v < n; v++) {
      const b = baseN[v]!;
      let cpu = b.cpu * (1 + 0.08 * rng.normal());
      let mem = b.mem + 0.01 * rng.normal();
      let drops = b.drops * (1 + 0.3 * Math.abs(rng.normal()));
      let sys = b.sys * (1 + 0.1 * rng.normal());
      const ov = overloadAt.get(v);
      if (ov && t >= ov.from) {
        const ramp = Math.min(1, (t - ov.from + 1) / 2);
        cpu = Math.max(cpu, (0.8 + 0.2 * ov.s) * ramp + cpu * (1 - ramp));
        sys *= 1 + (2 + 6 * ov.s) * ramp;
        drops += (20 + 150 * ov.s) * ramp;
        mem += 0.2 * ov.s * ramp;
      }
      const ed = extraDrops.get(v);
      if (ed && t >= ed.from) drops += ed.d;
      const dx = distractors.get(v);
      if (dx && t >= dx.from && t <= dx.to) {
        cpu += dx.s;
        sys *= 1 + 3 * dx.s;
      }
      const sf = silentFrom.get(v);
      if (sf !== undefined && t >= sf) nodes[v] = { nodeId: ids[v]!, cpuBusyRatio: null, memUsedRatio: null, dropsPerSec: null, syscallP99Us: null };
      else nodes[v] = { nodeId: ids[v]!, cpuBusyRatio: maybe(clamp01(cpu)), memUsedRatio: maybe(clamp01(mem)), dropsPerSec: maybe(Math.max(0, drops)), syscallP99Us: maybe(Math.max(1, sys)) };
    }
    const links: LinkTelemetry[] = new Array(L);
    for (let l = 0; l < L; l++) {
      const [a, b] = edges[l]!;
      const bl = baseL[l]!;
      let loss = bl.loss * (1 + 0.3 * rng.normal());
      let lat: number | null = bl.lat * (1 + 0.08 * rng.normal());
      let tput = bl.tput * (1 + 0.1 * rng.normal());
      const lf = linkFault.get(l);
      if (lf && t >= lf.from) {
        loss += lf.loss * (1 + 0.1 * rng.normal());
        lat *= lf.lat;
        tput *= lf.tput;
      }
      for (const end of [a, b]) {
        const ov = overloadAt.get(end);
        if (ov && t >= ov.from) {
          lat! *= 1 + 0.8 * ov.s;
          tput *= 0.85;
        }
        const sf = silentFrom.get(end);
        if (sf !== undefined && t >= sf) {
          loss = 1;
          lat = null;
          tput = 0;
        }
      }
      links[l] = { a: ids[a]!, b: ids[b]!, lossRatio: maybe(clamp01(loss)), latencyMs: lat === null ? null : maybe(Math.max(0.05, lat)), throughputBps: maybe(Math.max(0, tput)), ageSec: bl.age + t * 10 };
    }
    history.push({ takenAt: new Date(t0 + t * 10_000).toISOString(), nodes, links });
  }
  return { scenario, rootCause, history, nodeLabel, edgeLabel, onset };
}

/** A reproducible set of incidents: `perClass` of every scenario, sizes drawn in [minNodes, maxNodes]. */
export function incidentSet(opts: { perClass: number; minNodes: number; maxNodes: number; seed: number; scenarios?: readonly Scenario[]; missingRate?: number }): SimIncident[] {
  const rng = new Rng(opts.seed);
  const out: SimIncident[] = [];
  for (const scenario of opts.scenarios ?? SCENARIOS) {
    for (let i = 0; i < opts.perClass; i++) out.push(simulateIncident({ nodes: rng.int(opts.minNodes, opts.maxNodes + 1), scenario, seed: rng.int(1, 2 ** 31), missingRate: opts.missingRate }));
  }
  return rng.shuffle(out);
}
