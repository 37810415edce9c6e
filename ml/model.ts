import fs from 'node:fs';
import path from 'node:path';
import { tf } from './backend.js';
import { F_EDGE, F_NODE, type FeatureStats, type TelemetryGraph } from './graph.js';
import { Rng } from './rng.js';
import { Dense, exportWeights, importWeights, linkInput, SageLayer, sampleNeighbours, type SavedWeights } from './sage.js';
import { SCENARIOS } from './simulator.js';
import type { RankerParams } from './causal.js';

export const MODEL_FORMAT = 'x0t-mesh-sage/1';
/** Where `npm run train` writes the weights and the ML worker reads them. */
export const DEFAULT_MODEL_PATH = path.resolve(import.meta.dirname, 'models/mesh-sage.json');

export interface MeshSageConfig {
  hidden: number;
  /** Neighbours sampled per node and layer; nodes with fewer keep all. */
  sample: number;
  seed: number;
}

/** The model file: architecture, normalisation statistics, weights, root-cause ranker and calibration. */
export interface MeshModelFile {
  format: typeof MODEL_FORMAT;
  config: MeshSageConfig;
  stats: FeatureStats;
  ranker: RankerParams;
  weights: SavedWeights;
  trainedAt: string;
  training: Record<string, number | string>;
}

/** Per node and link anomaly scores, plus each node's most likely fault class. */
export interface GraphScores {
  /** P(node is affected by a fault) = 1 − P(class 'healthy'). */
  node: Float32Array;
  /** [n × classes] class probabilities per node. */
  nodeClassProb: Float32Array;
  /** P(link is degraded). */
  edge: Float32Array;
}

/**
 * Two GraphSAGE layers (mean aggregator) over the telemetry graph, a per-node fault-class head and
 * a per-link head over both ends' embeddings and the link's own features.
 */
export class MeshSage {
  readonly sage1: SageLayer;
  readonly sage2: SageLayer;
  readonly nodeHead: Dense;
  readonly edgeHidden: Dense;
  readonly edgeOut: Dense;
  readonly classes = SCENARIOS.length;
  constructor(readonly config: MeshSageConfig) {
    const rng = new Rng(config.seed);
    const H = config.hidden;
    this.sage1 = new SageLayer(F_NODE, H, rng, 'sage1');
    this.sage2 = new SageLayer(H, H, rng, 'sage2');
    this.nodeHead = new Dense(H, this.classes, rng, 'node_head');
    this.edgeHidden = new Dense(2 * H + F_EDGE, H, rng, 'edge_hidden');
    this.edgeOut = new Dense(H, 1, rng, 'edge_out');
  }

  named(): Array<[string, tf.Variable]> {
    return [...this.sage1.named(), ...this.sage2.named(), ...this.nodeHead.named(), ...this.edgeHidden.named(), ...this.edgeOut.named()];
  }

  /** Logits for node classes [n × C] and links [L × 1]; call inside tf.tidy or a gradient scope. */
  logits(g: TelemetryGraph, sampleSeed: number): { node: tf.Tensor2D; edge: tf.Tensor2D } {
    const rng = new Rng(sampleSeed);
    const x = tf.tensor2d(g.x, [g.n, F_NODE]);
    const h1 = tf.relu(this.sage1.apply(x, sampleNeighbours(g.adj, this.config.sample, rng))) as tf.Tensor2D;
    const h2 = tf.relu(this.sage2.apply(h1, sampleNeighbours(g.adj, this.config.sample, rng))) as tf.Tensor2D;
    const node = this.nodeHead.apply(h2);
    // [h_a + h_b | |h_a − h_b| | link features] per link.
    const e = linkInput(h2, g.linkEnds, g.edgeX, F_EDGE);
    const edge = this.edgeOut.apply(tf.relu(this.edgeHidden.apply(e)) as tf.Tensor2D);
    return { node, edge };
  }

  /** Anomaly scores for one graph (inference). */
  score(g: TelemetryGraph): GraphScores {
    const [probT, edgeT] = tf.tidy(() => {
      const { node, edge } = this.logits(g, this.config.seed);
      return [tf.softmax(node), tf.sigmoid(edge)];
    });
    // Read out after tidy: tidy would walk a returned typed array element by element.
    const prob = (probT.dataSync() as Float32Array).slice();
    const edgeScore = (edgeT.dataSync() as Float32Array).slice();
    tf.dispose([probT, edgeT]);
    const C = this.classes;
    const nodeScore = new Float32Array(g.n);
    for (let v = 0; v < g.n; v++) nodeScore[v] = 1 - prob[v * C]!;
    return { node: nodeScore, nodeClassProb: prob, edge: edgeScore };
  }

  exportWeights(): SavedWeights {
    return exportWeights(this.named());
  }

  dispose(): void {
    for (const [, v] of this.named()) v.dispose();
  }
}

/** Reads a model file and builds the model from it (once per worker). */
export function loadMeshModel(file = DEFAULT_MODEL_PATH): { model: MeshSage; meta: MeshModelFile } {
  let meta: MeshModelFile;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as MeshModelFile;
  } catch (err) {
    throw new Error(`cannot read the model file ${file}: ${(err as Error).message} (run \`npm run train\` to make it)`);
  }
  if (meta.format !== MODEL_FORMAT) throw new Error(`${file} is format ${String(meta.format)}, this code reads ${MODEL_FORMAT}`);
  const model = new MeshSage(meta.config);
  importWeights(model.named(), meta.weights);
  return { model, meta };
}

export function saveMeshModel(file: string, meta: MeshModelFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(meta));
  fs.renameSync(tmp, file);
}
