import { tf } from './backend.js';
import type { Csr } from './graph.js';
import { Rng } from './rng.js';

/*
 * GraphSAGE with the mean aggregator (Hamilton et al. 2017), laid out like PyG's SAGEConv:
 *   h'_v = W_neigh · mean_{u ∈ N(v)} h_u + b + W_self · h_v
 * The aggregation and the row gather are custom ops over CSR arrays: tfjs's wasm backend has no
 * UnsortedSegmentSum and its gather is slow, while a loop over Float32Arrays is fast. Both are
 * linear, so their gradients are the transposed loops (tf.customGrad), and the same layer code
 * trains and serves on every backend.
 */

type CustomGradFunc = Parameters<typeof tf.customGrad>[0];

/** Mean of neighbour rows: out[v] = mean_{u ∈ N(v)} x[u] (zeros for an isolated node). */
export function meanAggregateArrays(x: Float32Array, d: number, adj: Csr): Float32Array {
  const n = adj.off.length - 1;
  const out = new Float32Array(n * d);
  for (let v = 0; v < n; v++) {
    const s = adj.off[v]!;
    const e = adj.off[v + 1]!;
    if (e === s) continue;
    const o = v * d;
    for (let j = s; j < e; j++) {
      const u = adj.nbr[j]! * d;
      for (let k = 0; k < d; k++) out[o + k]! += x[u + k]!;
    }
    const inv = 1 / (e - s);
    for (let k = 0; k < d; k++) out[o + k]! *= inv;
  }
  return out;
}

/** The transpose of meanAggregateArrays: g[u] += dy[v] / deg(v) for every u ∈ N(v). */
export function meanAggregateTransposed(dy: Float32Array, d: number, adj: Csr): Float32Array {
  const n = adj.off.length - 1;
  const g = new Float32Array(n * d);
  for (let v = 0; v < n; v++) {
    const s = adj.off[v]!;
    const e = adj.off[v + 1]!;
    if (e === s) continue;
    const inv = 1 / (e - s);
    const o = v * d;
    for (let j = s; j < e; j++) {
      const u = adj.nbr[j]! * d;
      for (let k = 0; k < d; k++) g[u + k]! += dy[o + k]! * inv;
    }
  }
  return g;
}

/** Mean aggregation as a differentiable op. */
export function meanAggregate(x: tf.Tensor2D, adj: Csr): tf.Tensor2D {
  const [n, d] = x.shape;
  const op = tf.customGrad(((xt: tf.Tensor) => ({
    value: tf.tensor2d(meanAggregateArrays(xt.dataSync() as Float32Array, d, adj), [n, d]),
    gradFunc: (dy: tf.Tensor) => tf.tensor2d(meanAggregateTransposed(dy.dataSync() as Float32Array, d, adj), [n, d]),
  })) as unknown as CustomGradFunc);
  return op(x) as tf.Tensor2D;
}

/**
 * [x | mean of neighbour rows] as one differentiable op: out[v] = [x[v], mean_{u ∈ N(v)} x[u]]
 * ([n × 2d]). A layer that aggregates before projecting multiplies this by [W_self; W_neigh]
 * in one matMul instead of two matMuls and an add (tfjs-node pays per op, not per flop).
 * Gradient: the first half passes through, the second is meanAggregateTransposed.
 */
export function selfAndMean(x: tf.Tensor2D, adj: Csr): tf.Tensor2D {
  const [n, d] = x.shape;
  const op = tf.customGrad(((xt: tf.Tensor) => {
    const src = xt.dataSync() as Float32Array;
    const out = new Float32Array(n * 2 * d);
    for (let v = 0; v < n; v++) {
      const o = 2 * v * d;
      for (let k = 0; k < d; k++) out[o + k] = src[v * d + k]!;
      // The mean as in meanAggregateArrays (same order of additions, then one scaling).
      const s = adj.off[v]!;
      const e = adj.off[v + 1]!;
      if (e === s) continue;
      const m = o + d;
      for (let j = s; j < e; j++) {
        const u = adj.nbr[j]! * d;
        for (let k = 0; k < d; k++) out[m + k]! += src[u + k]!;
      }
      const inv = 1 / (e - s);
      for (let k = 0; k < d; k++) out[m + k]! *= inv;
    }
    return {
      value: tf.tensor2d(out, [n, 2 * d]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const gSelf = new Float32Array(n * d);
        const gMean = new Float32Array(n * d);
        for (let v = 0; v < n; v++) {
          gSelf.set(g.subarray(2 * v * d, 2 * v * d + d), v * d);
          gMean.set(g.subarray(2 * v * d + d, 2 * v * d + 2 * d), v * d);
        }
        const back = meanAggregateTransposed(gMean, d, adj);
        for (let i = 0; i < back.length; i++) back[i]! += gSelf[i]!;
        return tf.tensor2d(back, [n, d]);
      },
    };
  }) as unknown as CustomGradFunc);
  return op(x) as tf.Tensor2D;
}

/**
 * A link's input row from its two ends' embeddings and its own features, as one differentiable op:
 * out[l] = [h[a] + h[b], |h[a] − h[b]|, edgeX[l]] ([L × (2d + fe)]), the same values as
 * gather, add, sub, abs and concat, in one read of h and one tensor. Gradient with respect to h:
 * dy₁ + sign(h[a] − h[b])·dy₂ to a, dy₁ − sign(h[a] − h[b])·dy₂ to b (sign(0) = 0, as tf.abs's);
 * edgeX is data, not a parameter.
 */
export function linkInput(h: tf.Tensor2D, ends: Int32Array, edgeX: Float32Array, fe: number): tf.Tensor2D {
  const [n, d] = h.shape;
  const L = ends.length / 2;
  const w = 2 * d + fe;
  const op = tf.customGrad(((ht: tf.Tensor) => {
    const src = ht.dataSync() as Float32Array;
    const out = new Float32Array(L * w);
    for (let l = 0; l < L; l++) {
      const a = ends[2 * l]! * d;
      const b = ends[2 * l + 1]! * d;
      const o = l * w;
      for (let k = 0; k < d; k++) {
        const x = src[a + k]!;
        const y = src[b + k]!;
        out[o + k] = x + y;
        out[o + d + k] = Math.abs(x - y);
      }
      for (let k = 0; k < fe; k++) out[o + 2 * d + k] = edgeX[l * fe + k]!;
    }
    return {
      value: tf.tensor2d(out, [L, w]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const back = new Float32Array(n * d);
        for (let l = 0; l < L; l++) {
          const a = ends[2 * l]! * d;
          const b = ends[2 * l + 1]! * d;
          const o = l * w;
          for (let k = 0; k < d; k++) {
            const g1 = g[o + k]!;
            const g2 = g[o + d + k]! * Math.sign(src[a + k]! - src[b + k]!);
            back[a + k]! += g1 + g2;
            back[b + k]! += g1 - g2;
          }
        }
        return tf.tensor2d(back, [n, d]);
      },
    };
  }) as unknown as CustomGradFunc);
  return op(h) as tf.Tensor2D;
}

/** Rows of x by index, differentiable (gradient: scatter-add back). */
export function gatherRows(x: tf.Tensor2D, idx: Int32Array): tf.Tensor2D {
  const [n, d] = x.shape;
  const m = idx.length;
  const op = tf.customGrad(((xt: tf.Tensor) => {
    const src = xt.dataSync() as Float32Array;
    const out = new Float32Array(m * d);
    for (let i = 0; i < m; i++) out.set(src.subarray(idx[i]! * d, idx[i]! * d + d), i * d);
    return {
      value: tf.tensor2d(out, [m, d]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const back = new Float32Array(n * d);
        for (let i = 0; i < m; i++) {
          const o = idx[i]! * d;
          for (let k = 0; k < d; k++) back[o + k]! += g[i * d + k]!;
        }
        return tf.tensor2d(back, [n, d]);
      },
    };
  }) as unknown as CustomGradFunc);
  return op(x) as tf.Tensor2D;
}

/** At most k neighbours per node, drawn without replacement (GraphSAGE's neighbour sampling). */
export function sampleNeighbours(adj: Csr, k: number, rng: Rng): Csr {
  const n = adj.off.length - 1;
  let maxDeg = 0;
  for (let v = 0; v < n; v++) maxDeg = Math.max(maxDeg, adj.off[v + 1]! - adj.off[v]!);
  if (maxDeg <= k) return adj;
  const off = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) off[v + 1] = off[v]! + Math.min(k, adj.off[v + 1]! - adj.off[v]!);
  const nbr = new Int32Array(off[n]!);
  const pool: number[] = [];
  for (let v = 0; v < n; v++) {
    const s = adj.off[v]!;
    const deg = adj.off[v + 1]! - s;
    if (deg <= k) {
      nbr.set(adj.nbr.subarray(s, s + deg), off[v]!);
      continue;
    }
    pool.length = 0;
    for (let j = 0; j < deg; j++) pool.push(adj.nbr[s + j]!);
    for (let j = 0; j < k; j++) {
      const r = j + Math.floor(rng.next() * (deg - j));
      [pool[j], pool[r]] = [pool[r]!, pool[j]!];
      nbr[off[v]! + j] = pool[j]!;
    }
  }
  return { off, nbr };
}

/** Glorot-uniform initial weights from a seeded generator (reproducible training). */
export function glorot(rng: Rng, rows: number, cols: number): tf.Tensor2D {
  const lim = Math.sqrt(6 / (rows + cols));
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-lim, lim);
  return tf.tensor2d(a, [rows, cols]);
}

/** One GraphSAGE layer with the mean aggregator. */
export class SageLayer {
  readonly wNeigh: tf.Variable;
  readonly wSelf: tf.Variable;
  readonly bias: tf.Variable;
  constructor(readonly dIn: number, readonly dOut: number, rng: Rng, readonly name: string) {
    this.wNeigh = tf.variable(glorot(rng, dIn, dOut));
    this.wSelf = tf.variable(glorot(rng, dIn, dOut));
    this.bias = tf.variable(tf.zeros([dOut]));
  }
  /**
   * Aggregation commutes with the projection; project first when that shrinks the rows (Cora's
   * 1,433 features). Otherwise one matMul of [x | mean(x)] by [W_self; W_neigh] — the same sum
   * x·W_self + mean(x)·W_neigh + b, in fewer ops.
   */
  apply(x: tf.Tensor2D, adj: Csr): tf.Tensor2D {
    if (this.dOut < this.dIn) {
      const neigh = meanAggregate(tf.matMul(x, this.wNeigh), adj);
      return tf.add(tf.add(neigh, tf.matMul(x, this.wSelf)), this.bias) as tf.Tensor2D;
    }
    return tf.add(tf.matMul(selfAndMean(x, adj), tf.concat([this.wSelf, this.wNeigh], 0)), this.bias) as tf.Tensor2D;
  }
  named(): Array<[string, tf.Variable]> {
    return [[`${this.name}.w_neigh`, this.wNeigh], [`${this.name}.w_self`, this.wSelf], [`${this.name}.bias`, this.bias]];
  }
}

/** A dense layer (for heads). */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(readonly dIn: number, readonly dOut: number, rng: Rng, readonly name: string) {
    this.w = tf.variable(glorot(rng, dIn, dOut));
    this.b = tf.variable(tf.zeros([dOut]));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.w), this.b) as tf.Tensor2D;
  }
  named(): Array<[string, tf.Variable]> {
    return [[`${this.name}.w`, this.w], [`${this.name}.b`, this.b]];
  }
}

/** Named weights as plain arrays, for saving as a file. */
export interface SavedWeights {
  [name: string]: { shape: number[]; data: string /* base64 little-endian float32 */ };
}

export function exportWeights(vars: Array<[string, tf.Variable]>): SavedWeights {
  const out: SavedWeights = {};
  for (const [name, v] of vars) {
    const data = v.dataSync() as Float32Array;
    out[name] = { shape: v.shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
  }
  return out;
}

export function importWeights(vars: Array<[string, tf.Variable]>, saved: SavedWeights): void {
  for (const [name, v] of vars) {
    const w = saved[name];
    if (!w) throw new Error(`weights file has no ${name}`);
    if (w.shape.join('x') !== v.shape.join('x')) throw new Error(`weights ${name}: shape ${w.shape.join('x')} in file, model wants ${v.shape.join('x')}`);
    const buf = Buffer.from(w.data, 'base64');
    v.assign(tf.tensor(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), w.shape));
  }
}
