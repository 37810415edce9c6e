import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initBackend, tf } from '../../ml/backend.js';
import { Analyzer } from '../../ml/analyze.js';
import { expectedCalibrationError } from '../../ml/causal.js';
import { loadCora, trainCora } from '../../ml/cora.js';
import { buildGraph, csrFromLinks, F_NODE, NODE_FEATURES } from '../../ml/graph.js';
import { loadMeshModel } from '../../ml/model.js';
import { ACTIONS } from '../../ml/remediation.js';
import { Rng } from '../../ml/rng.js';
import { gatherRows, linkInput, meanAggregate, sampleNeighbours, selfAndMean } from '../../ml/sage.js';
import { FAULTS, incidentSet, simulateIncident } from '../../ml/simulator.js';
import { renderCausalGraphSvg } from '../../ml/svg.js';
import { indexSnapshot, TelemetryError, type MeshSnapshot } from '../../ml/telemetry.js';
import { trainMeshModel } from '../../ml/training.js';

let backend = '';
before(async () => {
  backend = await initBackend();
});

const tiny = (): MeshSnapshot => ({
  takenAt: '2026-01-01T00:00:00Z',
  nodes: [
    { nodeId: 'a', cpuBusyRatio: 0.2, memUsedRatio: 0.4, dropsPerSec: 0, syscallP99Us: 40 },
    { nodeId: 'b', cpuBusyRatio: 0.3, memUsedRatio: 0.5, dropsPerSec: 1, syscallP99Us: 50 },
    { nodeId: 'c', cpuBusyRatio: null, memUsedRatio: 0.5, dropsPerSec: 1 },
  ],
  links: [
    { a: 'a', b: 'b', lossRatio: 0.01, latencyMs: 2, throughputBps: 1e6, ageSec: 100 },
    { a: 'b', b: 'c', lossRatio: null, latencyMs: 3, throughputBps: 2e6, ageSec: 100 },
  ],
});

describe('telemetry graph: validation, normalisation, missing values', () => {
  test('missing values are imputed with the stored mean and flagged in the row', () => {
    const { meta } = loadMeshModel();
    const g = buildGraph(indexSnapshot(tiny()), meta.stats);
    assert.equal(g.imputed, 3, 'cpu and syscall of c, loss of b–c');
    const flag = NODE_FEATURES.indexOf('own_missing_share');
    assert.equal(g.x[2 * F_NODE + flag], 0.5, 'half of c\'s own metrics were missing');
    assert.equal(g.x[2 * F_NODE + NODE_FEATURES.indexOf('cpu')], 0, 'imputed cpu is the stored mean (z = 0)');
    assert.equal(g.x[0 * F_NODE + flag], 0);
    for (const v of g.x) assert.ok(Number.isFinite(v), 'no NaN reaches the model');
  });

  test('NaN, infinities, out-of-range values, unknown ids and duplicates are rejected with what is wrong', () => {
    const cases: Array<[(s: MeshSnapshot) => void, RegExp]> = [
      [(s) => (s.nodes[0]!.cpuBusyRatio = Number.NaN), /nodes\[0\]\.cpuBusyRatio is NaN/],
      [(s) => (s.links[0]!.latencyMs = Number.POSITIVE_INFINITY), /links\[0\]\.latencyMs is Infinity/],
      [(s) => (s.links[0]!.lossRatio = 1.5), /links\[0\]\.lossRatio = 1.5 is outside \[0, 1\]/],
      [(s) => (s.links[1]!.b = 'zz'), /links\[1\]\.b: unknown node id "zz"/],
      [(s) => s.links.push({ a: 'b', b: 'a' }), /duplicate link a--b/],
      [(s) => (s.nodes[2]!.nodeId = 'a'), /duplicate node id "a"/],
      [(s) => ((s as unknown as { nodes: unknown }).nodes = 'x'), /nodes must be an array/],
      [(s) => ((s.nodes[1] as unknown as { dropsPerSec: unknown }).dropsPerSec = '3'), /dropsPerSec must be a number or null, got string/],
    ];
    for (const [spoil, message] of cases) {
      const s = tiny();
      spoil(s);
      assert.throws(() => indexSnapshot(s), (e: unknown) => e instanceof TelemetryError && message.test(e.message), String(message));
    }
  });

  test('a history snapshot is checked as strictly as the current one, even on the aligned fast path', () => {
    const cur = indexSnapshot(tiny());
    const h = tiny();
    h.links[0]!.throughputBps = -1;
    assert.throws(() => indexSnapshot(h, 'history[0]', cur), /history\[0\]\.links\[0\]\.throughputBps = -1 is outside/);
    const h2 = tiny();
    h2.links[1] = { a: 'a', b: 'b' };
    assert.throws(() => indexSnapshot(h2, 'history[0]', cur), /duplicate link a--b/);
  });

  test('a history snapshot laid out against the current one gets the same ends as one indexed alone', () => {
    const inc = simulateIncident({ nodes: 40, scenario: 'link_degradation', seed: 3 });
    const cur = indexSnapshot(inc.history.at(-1)!);
    const h = structuredClone(inc.history[0]!);
    // Links after the 10th in another order: the shared prefix, then resolved and checked ends.
    h.links = [...h.links.slice(0, 10), ...h.links.slice(10).reverse()];
    for (const like of [cur, undefined]) {
      const a = indexSnapshot(h, 'history[0]', like);
      const b = indexSnapshot(h);
      assert.deepEqual(Array.from(a.linkEnds), Array.from(b.linkEnds));
      assert.deepEqual(a.linkIds, b.linkIds);
      assert.deepEqual(Array.from(a.linkValues), Array.from(b.linkValues));
    }
    assert.equal(indexSnapshot(inc.history[0]!, 'history[0]', cur).linkEnds, cur.linkEnds, 'an aligned snapshot shares the ends');
    h.links.push({ ...h.links[3]! });
    assert.throws(() => indexSnapshot(h, 'history[0]', cur), /links\[\d+\]: duplicate link/);
  });
});

describe('GraphSAGE layer ops', () => {
  test('the custom mean aggregation, row gather, [x | mean x] and link-input ops match dense-matrix references, values and gradients', () => {
    // References as dense matrix products (tfjs's own gather gradient needs UnsortedSegmentSum, which wasm lacks).
    const rng = new Rng(3);
    const n = 30;
    const ends: number[] = [];
    for (let i = 0; i < 70; i++) {
      const a = rng.int(0, n);
      const b = rng.int(0, n);
      if (a !== b && !ends.some((_, k) => k % 2 === 0 && ((ends[k] === a && ends[k + 1] === b) || (ends[k] === b && ends[k + 1] === a)))) ends.push(a, b);
    }
    const adj = csrFromLinks(n, Int32Array.from(ends));
    const A = new Float32Array(n * n);
    for (let v = 0; v < n; v++) {
      const deg = adj.off[v + 1]! - adj.off[v]!;
      for (let j = adj.off[v]!; j < adj.off[v + 1]!; j++) A[v * n + adj.nbr[j]!]! += 1 / deg;
    }
    const At = tf.tensor2d(A, [n, n]);
    const x = tf.randomNormal([n, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
    const w = tf.randomNormal([n, 5], 0, 1, 'float32', 2);
    const close = (a: tf.Tensor, b: tf.Tensor) => assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-5);
    close(meanAggregate(x, adj), tf.matMul(At, x));
    close(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(meanAggregate(t as tf.Tensor2D, adj), w)))(x), tf.matMul(At, w, true, false));
    const idx = Int32Array.from([3, 3, 0, 29]);
    const G = tf.oneHot(tf.tensor1d(idx, 'int32'), n).toFloat() as tf.Tensor2D;
    close(gatherRows(x, idx), tf.matMul(G, x));
    const wg = tf.randomNormal([4, 5], 0, 1, 'float32', 4);
    close(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, idx), wg)))(x), tf.matMul(G, wg, true, false));
    // [x | mean(x)] in one op, against the concatenation of x and the dense product.
    const w2 = tf.randomNormal([n, 10], 0, 1, 'float32', 5);
    close(selfAndMean(x, adj), tf.concat([x, tf.matMul(At, x)], 1));
    close(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(selfAndMean(t as tf.Tensor2D, adj), w2)))(x),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.concat([t, tf.matMul(At, t)], 1), w2)))(x));
    // A link's input row, against gather (as one-hot products), add, sub, abs and concat.
    const ends2 = Int32Array.from([3, 7, 0, 29, 3, 29, 12, 5]);
    const ex = Float32Array.from({ length: 4 * 3 }, (_, i) => i / 10);
    const Ga = tf.oneHot(tf.tensor1d(Int32Array.from([3, 0, 3, 12]), 'int32'), n).toFloat() as tf.Tensor2D;
    const Gb = tf.oneHot(tf.tensor1d(Int32Array.from([7, 29, 29, 5]), 'int32'), n).toFloat() as tf.Tensor2D;
    const linkRef = (t: tf.Tensor2D) => tf.concat([tf.add(tf.matMul(Ga, t), tf.matMul(Gb, t)), tf.abs(tf.sub(tf.matMul(Ga, t), tf.matMul(Gb, t))), tf.tensor2d(ex, [4, 3])], 1);
    const wl = tf.randomNormal([4, 13], 0, 1, 'float32', 6);
    close(linkInput(x, ends2, ex, 3), linkRef(x));
    close(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linkInput(t as tf.Tensor2D, ends2, ex, 3), wl)))(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(linkRef(t as tf.Tensor2D), wl)))(x));
  });

  test('neighbour sampling keeps at most k distinct real neighbours and leaves small neighbourhoods whole', () => {
    const n = 50;
    const ends: number[] = [];
    for (let u = 1; u < n; u++) ends.push(0, u); // a hub with 49 neighbours
    ends.push(1, 2);
    const adj = csrFromLinks(n, Int32Array.from(ends));
    const s = sampleNeighbours(adj, 8, new Rng(1));
    const hub = Array.from(s.nbr.subarray(s.off[0]!, s.off[1]!));
    assert.equal(hub.length, 8);
    assert.equal(new Set(hub).size, 8);
    assert.ok(hub.every((u) => u >= 1 && u < n));
    assert.deepEqual(Array.from(s.nbr.subarray(s.off[1]!, s.off[2]!)).sort(), [0, 2]);
  });

  test('the same layer code learns Cora: test accuracy above 0.7 after 12 epochs (one seed; the bench runs 5 × 200)', () => {
    const r = trainCora(loadCora(), 1, { epochs: 12 });
    assert.ok(r.testAccuracy > 0.7, `Cora test accuracy ${r.testAccuracy}`);
  });
});

describe('training and the committed model', () => {
  test('a small model trains from scratch on the simulator and its loss falls', async () => {
    const losses: number[] = [];
    const rep = await trainMeshModel({ perClass: 4, calibPerClass: 3, epochs: 4, batch: 4, minNodes: 15, maxNodes: 25, seed: 5, onProgress: (_d, _t, note) => {
      const m = /loss ([\d.]+)/.exec(note);
      if (m) losses.push(Number(m[1]));
    } });
    assert.ok(losses.length > 4);
    assert.ok(losses.at(-1)! < losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
    assert.equal(rep.file.ranker.weights.length, 11);
  });

  test('the committed model finds the root cause of held-out incidents of every fault class, with calibrated confidence', () => {
    const { model, meta } = loadMeshModel();
    const analyzer = new Analyzer(model, meta, backend);
    const held = incidentSet({ perClass: 6, minNodes: 30, maxNodes: 50, seed: 777, scenarios: FAULTS });
    let top1 = 0;
    const points: Array<{ confidence: number; correct: boolean }> = [];
    for (const inc of held) {
      const r = analyzer.analyze({ snapshot: inc.history.at(-1)!, history: inc.history.slice(0, -1) });
      const ok = r.rootCauses[0]?.entity === inc.rootCause;
      top1 += ok ? 1 : 0;
      points.push({ confidence: r.confidence, correct: ok });
      assert.ok(r.suggestions.every((s) => s.action in ACTIONS));
    }
    assert.ok(top1 / held.length >= 0.8, `top-1 ${top1}/${held.length}`);
    assert.ok(expectedCalibrationError(points) < 0.15, 'confidence tracks accuracy');
  });

  test('a partitioned node is named as silent, with its incident folding the dead links', () => {
    const { model, meta } = loadMeshModel();
    const inc = simulateIncident({ nodes: 36, scenario: 'partition', seed: 21 });
    const r = new Analyzer(model, meta, backend).analyze({ snapshot: inc.history.at(-1)!, history: inc.history.slice(0, -1) });
    assert.equal(r.rootCauses[0]?.entity, inc.rootCause);
    assert.equal(r.faultClass, 'partition');
    assert.match(r.explanation, /stopped reporting|missing/);
    assert.ok(r.events.filter((e) => e.kind === 'link').length >= 1, 'the dead links are folded into the incident');
    assert.equal(r.suggestions[0]?.action, 'restart_node_agent');
  });
});

describe('causal graph picture', () => {
  test('the SVG highlights the root cause and draws every edge weight', () => {
    const svg = renderCausalGraphSvg({
      nodes: [{ id: 'n1', kind: 'node', signal: 14 }, { id: 'n2', kind: 'node', signal: 6 }, { id: 'n1--n2', kind: 'link', signal: 9 }],
      edges: [{ from: 'n1', to: 'n2', weight: 0.91 }, { from: 'n1', to: 'n1--n2', weight: 0.4 }],
    }, { rootCause: 'n1', title: 'Incident <x>' });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<g class="entity root-cause" data-id="n1"><circle [^>]*fill="#e74c3c"/);
    assert.match(svg, /<g class="entity" data-id="n1--n2"><rect /);
    assert.match(svg, />0\.91<\/text>/);
    assert.match(svg, />0\.40<\/text>/);
    assert.match(svg, /Incident &lt;x&gt;/, 'text is escaped');
  });
});
