import fs from 'node:fs';
import path from 'node:path';
import { tf } from './backend.js';
import { csrFromLinks, type Csr } from './graph.js';
import { Rng } from './rng.js';
import { gatherRows, SageLayer } from './sage.js';

/** The Cora citation graph, Planetoid split (../shared/data/cora). */
export interface Cora {
  n: number;
  features: Float32Array; // [n × f], rows normalised to sum 1 (as PyG's NormalizeFeatures)
  f: number;
  labels: Int32Array;
  classes: number;
  adj: Csr;
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/** Default location: shared/ beside the repository, or X0T_CORA_DIR. */
export function coraDir(): string {
  return process.env.X0T_CORA_DIR ?? path.resolve(import.meta.dirname, '../../shared/data/cora');
}

export function loadCora(dir = coraDir()): Cora {
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trimEnd().split('\n');
  const labelsTxt = read('labels.txt');
  const n = labelsTxt.length;
  const labels = Int32Array.from(labelsTxt, Number);
  const featLines = read('features.txt');
  if (featLines.length !== n) throw new Error(`cora: ${featLines.length} feature rows for ${n} labels`);
  let f = 0;
  const rows = featLines.map((l) => (l.trim() === '' ? [] : l.trim().split(/\s+/).map(Number)));
  for (const r of rows) for (const w of r) f = Math.max(f, w + 1);
  const features = new Float32Array(n * f);
  rows.forEach((r, i) => {
    for (const w of r) features[i * f + w] = 1 / r.length;
  });
  const edges = read('edges.txt').map((l) => l.split(/\s+/).map(Number) as [number, number]);
  const ends = new Int32Array(edges.length * 2);
  edges.forEach(([a, b], i) => {
    ends[2 * i] = a;
    ends[2 * i + 1] = b;
  });
  const split = JSON.parse(fs.readFileSync(path.join(dir, 'split.json'), 'utf8')) as { train: number[]; val: number[]; test: number[] };
  let classes = 0;
  for (const c of labels) classes = Math.max(classes, c + 1);
  return { n, features, f, labels, classes, adj: csrFromLinks(n, ends), train: Int32Array.from(split.train), val: Int32Array.from(split.val), test: Int32Array.from(split.test) };
}

export interface CoraRun {
  seed: number;
  testAccuracy: number;
  bestValAccuracy: number;
  epochs: number;
  trainMs: number;
}

/**
 * Trains the product's SageLayer (2 layers, mean aggregator, full batch) on Cora the way PyG's
 * example does: hidden 64, ReLU, dropout 0.5, Adam lr 0.01, weight decay 5e-4, 200 epochs;
 * reports test accuracy at the epoch of best validation accuracy.
 */
export function trainCora(data: Cora, seed: number, opts: { epochs?: number; hidden?: number } = {}): CoraRun {
  const epochs = opts.epochs ?? 200;
  const hidden = opts.hidden ?? 64;
  const rng = new Rng(seed);
  const l1 = new SageLayer(data.f, hidden, rng, 'cora1');
  const l2 = new SageLayer(hidden, data.classes, rng, 'cora2');
  const vars = [...l1.named(), ...l2.named()].map(([, v]) => v);
  const x = tf.tensor2d(data.features, [data.n, data.f]);
  const onehot = tf.oneHot(tf.tensor1d(Array.from(data.train, (i) => data.labels[i]!), 'int32'), data.classes);
  const opt = tf.train.adam(0.01);
  const wd = 5e-4;
  const forward = (training: boolean) => {
    let h = training ? tf.dropout(x, 0.5, undefined, rng.int(0, 2 ** 31)) : x;
    h = tf.relu(l1.apply(h as tf.Tensor2D, data.adj));
    if (training) h = tf.dropout(h, 0.5, undefined, rng.int(0, 2 ** 31));
    return l2.apply(h as tf.Tensor2D, data.adj);
  };
  const accuracy = (logits: Float32Array, idx: Int32Array) => {
    let ok = 0;
    for (const i of idx) {
      let best = 0;
      for (let c = 1; c < data.classes; c++) if (logits[i * data.classes + c]! > logits[i * data.classes + best]!) best = c;
      if (best === data.labels[i]) ok++;
    }
    return ok / idx.length;
  };
  const t0 = performance.now();
  let bestVal = -1;
  let testAtBest = 0;
  for (let e = 0; e < epochs; e++) {
    opt.minimize(() => {
      const logits = gatherRows(forward(true), data.train);
      const ce = tf.losses.softmaxCrossEntropy(onehot, logits);
      const l2sum = tf.addN(vars.map((v) => tf.sum(tf.square(v))));
      return tf.add(ce, tf.mul(wd / 2, l2sum)) as tf.Scalar;
    }, false, vars);
    const logits = tf.tidy(() => forward(false).dataSync() as Float32Array);
    const val = accuracy(logits, data.val);
    if (val > bestVal) {
      bestVal = val;
      testAtBest = accuracy(logits, data.test);
    }
  }
  const trainMs = performance.now() - t0;
  tf.dispose([x, onehot, ...vars]);
  opt.dispose();
  return { seed, testAccuracy: testAtBest, bestValAccuracy: bestVal, epochs, trainMs };
}
