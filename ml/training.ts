import { tf } from './backend.js';
import { Analyzer } from './analyze.js';
import { calibrated, DEFAULT_RANKER, expectedCalibrationError, fitCalibration, trainRanker, type RankerParams } from './causal.js';
import { buildGraph, computeFeatureStats, csrFromLinks, F_EDGE, F_NODE, rawFeatures, type FeatureStats, type TelemetryGraph } from './graph.js';
import { MeshSage, MODEL_FORMAT, type MeshModelFile, type MeshSageConfig } from './model.js';
import { Rng } from './rng.js';
import { incidentSet, SCENARIOS, type SimIncident } from './simulator.js';
import { indexSnapshot } from './telemetry.js';

/** Graphs side by side as one graph (no links between them): a mini-batch for full-graph training. */
export function disjointUnion(gs: TelemetryGraph[]): TelemetryGraph {
  const n = gs.reduce((a, g) => a + g.n, 0);
  const L = gs.reduce((a, g) => a + g.linkIds.length, 0);
  const x = new Float32Array(n * F_NODE);
  const edgeX = new Float32Array(L * F_EDGE);
  const linkEnds = new Int32Array(2 * L);
  const nodeIds: string[] = [];
  const linkIds: string[] = [];
  let on = 0;
  let ol = 0;
  for (const g of gs) {
    x.set(g.x, on * F_NODE);
    edgeX.set(g.edgeX, ol * F_EDGE);
    for (let i = 0; i < g.linkEnds.length; i++) linkEnds[2 * ol + i] = g.linkEnds[i]! + on;
    nodeIds.push(...g.nodeIds);
    linkIds.push(...g.linkIds);
    on += g.n;
    ol += g.linkIds.length;
  }
  return { n, nodeIds, linkIds, linkEnds, adj: csrFromLinks(n, linkEnds), x, edgeX, imputed: gs.reduce((a, g) => a + g.imputed, 0) };
}

export interface TrainOptions {
  seed?: number;
  /** Training incidents per fault class (and healthy). */
  perClass?: number;
  minNodes?: number;
  maxNodes?: number;
  epochs?: number;
  batch?: number;
  hidden?: number;
  /** Incidents per class for calibrating the confidence. */
  calibPerClass?: number;
  onProgress?: (done: number, total: number, note: string) => void;
}

export interface TrainReport {
  file: MeshModelFile;
  trainMs: number;
  finalLoss: number;
  rankerTrainTop1: number;
  calibrationEce: number;
}

/** Statistics from snapshots before any fault began (the first step of every history). */
export function statsFromIncidents(incidents: SimIncident[]): FeatureStats {
  return computeFeatureStats(incidents.map((i) => rawFeatures(indexSnapshot(i.history[0]!))));
}

/**
 * Trains the mesh GraphSAGE on simulated incidents, then the root-cause ranker on the same
 * incidents and its calibration on separate ones. Everything is seeded: the same options give the
 * same model file.
 */
export async function trainMeshModel(o: TrainOptions = {}): Promise<TrainReport> {
  const seed = o.seed ?? 7;
  const t0 = performance.now();
  // More missing values than the simulator's default: the model must not lean on a value being present.
  const train = incidentSet({ perClass: o.perClass ?? 60, minNodes: o.minNodes ?? 30, maxNodes: o.maxNodes ?? 120, seed, missingRate: 0.03 });
  const calib = incidentSet({ perClass: o.calibPerClass ?? 30, minNodes: o.minNodes ?? 30, maxNodes: o.maxNodes ?? 120, seed: seed + 1000 });
  const stats = statsFromIncidents(train);
  const graphs = train.map((i) => buildGraph(indexSnapshot(i.history[i.history.length - 1]!), stats));
  const config: MeshSageConfig = { hidden: o.hidden ?? 32, sample: 10, seed };
  const model = new MeshSage(config);
  const vars = model.named().map(([, v]) => v);
  const opt = tf.train.adam(0.01);
  const C = SCENARIOS.length;
  // Class weights: unaffected nodes dominate; weigh each class by inverse frequency (capped).
  const counts = new Array<number>(C).fill(0);
  for (const i of train) for (const c of i.nodeLabel) counts[c]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  const cw = counts.map((c) => Math.min(20, total / (C * Math.max(1, c))));
  const epochs = o.epochs ?? 30;
  const batch = o.batch ?? 8;
  const rng = new Rng(seed);
  const order = train.map((_, i) => i);
  const steps = epochs * Math.ceil(train.length / batch);
  let step = 0;
  let lastLoss = Number.NaN;
  for (let e = 0; e < epochs; e++) {
    rng.shuffle(order);
    let sum = 0;
    let cnt = 0;
    for (let b = 0; b < order.length; b += batch) {
      const ids = order.slice(b, b + batch);
      const g = disjointUnion(ids.map((i) => graphs[i]!));
      const nodeLabels = new Int32Array(g.n);
      const edgeLabels = new Float32Array(g.linkIds.length);
      let on = 0;
      let ol = 0;
      for (const i of ids) {
        nodeLabels.set(train[i]!.nodeLabel, on);
        edgeLabels.set(train[i]!.edgeLabel, ol);
        on += graphs[i]!.n;
        ol += graphs[i]!.linkIds.length;
      }
      const sampleSeed = rng.int(0, 2 ** 31);
      const loss = opt.minimize(() => {
        const { node, edge } = model.logits(g, sampleSeed);
        const onehot = tf.oneHot(tf.tensor1d(nodeLabels, 'int32'), C);
        const weights = tf.tensor1d(Array.from(nodeLabels, (c) => cw[c]!));
        const nodeLoss = tf.losses.softmaxCrossEntropy(onehot, node, weights);
        const edgeLoss = tf.losses.sigmoidCrossEntropy(tf.tensor2d(edgeLabels, [edgeLabels.length, 1]), edge, tf.tensor2d(Array.from(edgeLabels, (y) => (y ? 10 : 1)), [edgeLabels.length, 1]));
        return tf.add(nodeLoss, edgeLoss) as tf.Scalar;
      }, true, vars);
      sum += loss!.dataSync()[0]!;
      cnt++;
      loss!.dispose();
      o.onProgress?.(++step, steps + 2, `epoch ${e + 1}/${epochs} loss ${(sum / cnt).toFixed(4)}`);
    }
    lastLoss = sum / cnt;
  }
  opt.dispose();

  // Root-cause ranker on the training incidents, then calibration on separate ones.
  const file: MeshModelFile = {
    format: MODEL_FORMAT, config, stats, ranker: DEFAULT_RANKER, weights: model.exportWeights(),
    trainedAt: new Date().toISOString(), training: {},
  };
  const analyzer = new Analyzer(model, file, 'training');
  const setsFor = (incidents: SimIncident[]) => incidents.filter((i) => i.rootCause).map((i) => {
    const r = analyzer.analyze({ snapshot: i.history[i.history.length - 1]!, history: i.history.slice(0, -1), incidentId: 'train' }, { keepFeatures: true });
    return { features: r.features ?? [], truth: (r.candidates ?? []).indexOf(i.rootCause!) };
  });
  const rankSets = setsFor(train);
  const weights = trainRanker(rankSets);
  const ranker: RankerParams = { weights, calibA: 1, calibB: 0 };
  file.ranker = ranker;
  o.onProgress?.(++step, steps + 2, 'ranker');
  const top1 = rankSets.filter((s) => s.truth >= 0 && argmaxScore(s.features, weights) === s.truth).length / rankSets.length;
  const calibSets = setsFor(calib);
  const points = calibSets.map((s) => ({ p: topShare(s.features, weights), correct: s.truth >= 0 && argmaxScore(s.features, weights) === s.truth }));
  const [a, b] = fitCalibration(points);
  file.ranker = { weights, calibA: a, calibB: b };
  const ece = expectedCalibrationError(points.map((p) => ({ confidence: calibrated(p.p, { calibA: a, calibB: b }), correct: p.correct })));
  o.onProgress?.(++step, steps + 2, 'calibration');
  const trainMs = performance.now() - t0;
  file.training = {
    seed, incidents: train.length, calibrationIncidents: calib.length, epochs, hidden: config.hidden, finalLoss: round(lastLoss),
    rankerTrainTop1: round(top1), calibrationEce: round(ece), trainSeconds: round(trainMs / 1000),
  };
  model.dispose();
  return { file, trainMs, finalLoss: lastLoss, rankerTrainTop1: top1, calibrationEce: ece };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

function scoresOf(features: number[][], w: number[]): number[] {
  return features.map((f) => f.reduce((a, x, k) => a + x * (w[k] ?? 0), 0));
}

function argmaxScore(features: number[][], w: number[]): number {
  const s = scoresOf(features, w);
  let best = 0;
  for (let i = 1; i < s.length; i++) if (s[i]! > s[best]!) best = i;
  return s.length ? best : -1;
}

function topShare(features: number[][], w: number[]): number {
  const s = scoresOf(features, w);
  if (s.length === 0) return 1;
  const m = Math.max(...s);
  const z = s.reduce((a, x) => a + Math.exp(x - m), 0);
  return 1 / z;
}
