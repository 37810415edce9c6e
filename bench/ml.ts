/**
 * `npm run bench:ml [-- --peer] [--cora-seeds N] [--cora-epochs N] [--skip-cora] [--out FILE]`
 * Analyze latency (GraphSAGE + causal) at 100 / 1,000 / 10,000 nodes, training time, Cora accuracy,
 * root-cause top-1/top-3 and calibration on held-out simulator incidents. With --peer, the same run
 * also measures PyTorch Geometric's SAGEConv (Cora, forward pass on the same 1,000-node graph) and
 * RCAEval's baselines on the same incidents, in bench/.venv (created here, never by npm install).
 * Writes bench/results/ml.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../common/paths.js';
import { initBackend } from '../ml/backend.js';
import { Analyzer } from '../ml/analyze.js';
import { expectedCalibrationError } from '../ml/causal.js';
import { coraDir, loadCora, trainCora } from '../ml/cora.js';
import { buildGraph, F_NODE } from '../ml/graph.js';
import { loadMeshModel } from '../ml/model.js';
import { FAULTS, incidentSet, simulateIncident, type SimIncident } from '../ml/simulator.js';
import { indexSnapshot, LINK_METRICS, NODE_METRICS } from '../ml/telemetry.js';
import { trainMeshModel } from '../ml/training.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const peer = flag('--peer');
const coraSeeds = opt('--cora-seeds', 5);
const coraEpochs = opt('--cora-epochs', 200);
const out = args.includes('--out') ? args[args.indexOf('--out') + 1]! : 'bench/results/ml.json';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const log = (s: string) => console.log(s);

const VENV = fromRoot('bench/.venv');
const PEERS = fromRoot('bench/.peers');
const PY_PACKAGES = ['torch', 'torch-geometric', 'rcaeval', 'pandas', 'scikit-learn', 'causal-learn'];

/** Creates bench/.venv once with the peers' packages (PyPI only; torch's wheel brings its CUDA runtime packages). */
function ensureVenv(): string {
  const py = path.join(VENV, 'bin/python');
  const ok = fs.existsSync(py) && spawnSync(py, ['-c', 'import torch, torch_geometric, RCAEval, pandas, sklearn, causallearn'], { stdio: 'ignore' }).status === 0;
  if (ok) return py;
  log('installing the Python peers into bench/.venv (first run only) …');
  execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(path.join(VENV, 'bin/pip'), ['install', '-q', ...PY_PACKAGES], { stdio: 'inherit' });
  return py;
}

/** An incident as a table of `<entity>_<metric>` columns for RCAEval; silence reads as zeros, gaps carry forward. */
function incidentTable(inc: SimIncident) {
  const cur = indexSnapshot(inc.history.at(-1)!);
  const snaps = inc.history.map((h) => indexSnapshot(h));
  const cols: string[] = [];
  const series: number[][] = [];
  const short = { cpuBusyRatio: 'cpu', memUsedRatio: 'mem', dropsPerSec: 'drops', syscallP99Us: 'syscall', lossRatio: 'loss', latencyMs: 'latency', throughputBps: 'tput', ageSec: 'age' } as const;
  for (let v = 0; v < cur.nodeIds.length; v++) {
    NODE_METRICS.forEach((m, k) => {
      cols.push(`${cur.nodeIds[v]}_${short[m]}`);
      const s = snaps.map((h) => {
        const vals = h.nodeValues.subarray(v * 4, v * 4 + 4);
        return vals.every(Number.isNaN) ? 0 : vals[k]!;
      });
      series.push(s);
    });
  }
  for (let l = 0; l < cur.linkIds.length; l++) {
    LINK_METRICS.slice(0, 3).forEach((m, k) => {
      cols.push(`${cur.linkIds[l]}_${short[m]}`);
      series.push(snaps.map((h) => h.linkValues[l * LINK_METRICS.length + k]!));
    });
  }
  for (const s of series) {
    let prev = s.find((x) => !Number.isNaN(x)) ?? 0;
    for (let t = 0; t < s.length; t++) {
      if (Number.isNaN(s[t]!)) s[t] = prev;
      else prev = s[t]!;
    }
  }
  const rows = inc.history.map((_, t) => series.map((s) => s[t]!));
  return { scenario: inc.scenario, root: inc.rootCause, inject_step: inc.onset, columns: cols, rows };
}

async function main(): Promise<void> {
  const backend = await initBackend();
  log(`backend: ${backend}`);
  const { model, meta } = loadMeshModel();
  const analyzer = new Analyzer(model, meta, backend);
  const os = await import('node:os');
  const result: Record<string, unknown> = { backend, measured_at: new Date().toISOString(), cores: os.cpus().length, load_average_at_start: os.loadavg().map(r3) };

  // 1. Analyze latency (validation + features + GraphSAGE + causal) on one incident per size.
  // Enough runs that p95 is a percentile, not the slowest run (with 20 runs it was the maximum).
  for (const [n, runs] of [[100, 200], [1000, 200], [10000, 100]] as const) {
    const inc = simulateIncident({ nodes: n, scenario: 'node_overload', seed: 1000 + n, severity: 0.7 });
    const input = { snapshot: inc.history.at(-1)!, history: inc.history.slice(0, -1), incidentId: 'bench' };
    for (let i = 0; i < 3; i++) analyzer.analyze(input);
    const ts: number[] = [];
    let correct = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const r = analyzer.analyze(input);
      ts.push(performance.now() - t0);
      if (r.rootCauses[0]?.entity === inc.rootCause) correct++;
    }
    result[`analyze_p50_ms_${n}`] = r3(pct(ts, 0.5));
    result[`analyze_p95_ms_${n}`] = r3(pct(ts, 0.95));
    log(`analyze ${String(n).padStart(6)} nodes, ${inc.history.length} snapshots: p50 ${pct(ts, 0.5).toFixed(2)} ms, p95 ${pct(ts, 0.95).toFixed(2)} ms (root found ${correct}/${runs})`);
  }

  // Forward pass alone (GraphSAGE + heads) on the 1,000-node graph, beside PyG's on the same graph.
  const g1000inc = simulateIncident({ nodes: 1000, scenario: 'node_overload', seed: 2000, severity: 0.7 });
  const g1000 = buildGraph(indexSnapshot(g1000inc.history.at(-1)!), meta.stats);
  {
    for (let i = 0; i < 5; i++) model.score(g1000);
    const ts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      model.score(g1000);
      ts.push(performance.now() - t0);
    }
    result.forward_p50_ms_1000 = r3(pct(ts, 0.5));
    result.forward_p95_ms_1000 = r3(pct(ts, 0.95));
    log(`GraphSAGE forward, 1,000 nodes: p50 ${pct(ts, 0.5).toFixed(2)} ms, p95 ${pct(ts, 0.95).toFixed(2)} ms`);
  }

  // 2. Training time (the same as `npm run train`, not saved).
  {
    const t0 = performance.now();
    const rep = await trainMeshModel();
    result.train_seconds = r3((performance.now() - t0) / 1000);
    log(`training (npm run train's settings): ${(result.train_seconds as number).toFixed(1)} s, final loss ${rep.finalLoss.toFixed(4)}`);
  }

  // 3. RCA on held-out incidents (a seed never used for training or calibration).
  const held = incidentSet({ perClass: 40, minNodes: 30, maxNodes: 60, seed: 20261125, scenarios: FAULTS });
  {
    const per: Record<string, { n: number; top1: number; top3: number; cls: number }> = {};
    const points: Array<{ confidence: number; correct: boolean }> = [];
    const ts: number[] = [];
    for (const inc of held) {
      const t0 = performance.now();
      const r = analyzer.analyze({ snapshot: inc.history.at(-1)!, history: inc.history.slice(0, -1) });
      ts.push(performance.now() - t0);
      const ids = r.rootCauses.map((c) => c.entity);
      const p = (per[inc.scenario] ??= { n: 0, top1: 0, top3: 0, cls: 0 });
      p.n++;
      const ok = ids[0] === inc.rootCause;
      p.top1 += ok ? 1 : 0;
      p.top3 += ids.slice(0, 3).includes(inc.rootCause!) ? 1 : 0;
      p.cls += r.faultClass === inc.scenario ? 1 : 0;
      points.push({ confidence: r.anomalous ? r.confidence : 0, correct: ok });
    }
    const n = held.length;
    result.rca_incidents = n;
    result.rca_top1 = r3(Object.values(per).reduce((a, p) => a + p.top1, 0) / n);
    result.rca_top3 = r3(Object.values(per).reduce((a, p) => a + p.top3, 0) / n);
    result.rca_ece = r3(expectedCalibrationError(points));
    result.rca_fault_class_accuracy = r3(Object.values(per).reduce((a, p) => a + p.cls, 0) / n);
    result.rca_per_class = Object.fromEntries(Object.entries(per).map(([k, p]) => [k, { n: p.n, top1: r3(p.top1 / p.n), top3: r3(p.top3 / p.n) }]));
    log(`RCA, ${n} held-out incidents (30–60 nodes): top-1 ${result.rca_top1}, top-3 ${result.rca_top3}, ECE ${result.rca_ece}, fault class ${result.rca_fault_class_accuracy}, p50 ${pct(ts, 0.5).toFixed(2)} ms`);
    for (const [k, p] of Object.entries(per)) log(`  ${k.padEnd(18)} top-1 ${(p.top1 / p.n).toFixed(3)}  top-3 ${(p.top3 / p.n).toFixed(3)}  (n=${p.n})`);
  }

  // 4. Cora with the product's layer code.
  if (!flag('--skip-cora')) {
    const cora = loadCora();
    const runs = [];
    for (let s = 1; s <= coraSeeds; s++) {
      const r = trainCora(cora, s, { epochs: coraEpochs });
      runs.push(r);
      log(`Cora seed ${s}: test ${r.testAccuracy.toFixed(3)} (val ${r.bestValAccuracy.toFixed(3)}), ${(r.trainMs / 1000).toFixed(1)} s`);
    }
    result.cora_epochs = coraEpochs;
    result.cora_seeds = coraSeeds;
    result.cora_accuracies = runs.map((r) => r3(r.testAccuracy));
    result.cora_accuracy_mean = r3(runs.reduce((a, r) => a + r.testAccuracy, 0) / runs.length);
    result.cora_train_seconds_mean = r3(runs.reduce((a, r) => a + r.trainMs, 0) / runs.length / 1000);
    log(`Cora mean test accuracy (${coraSeeds} seeds, ${coraEpochs} epochs): ${result.cora_accuracy_mean}`);
  }

  // 5. Peers in the same run.
  if (peer) {
    const py = ensureVenv();
    fs.mkdirSync(PEERS, { recursive: true });
    const graphFile = path.join(PEERS, 'telemetry-1000.json');
    fs.writeFileSync(graphFile, JSON.stringify({ n: g1000.n, f: F_NODE, hidden: meta.config.hidden, x: Array.from(g1000.x), edges: Array.from(g1000.linkEnds) }));
    const pyg = JSON.parse(execFileSync(py, [fromRoot('bench/peers/pyg_sage.py'), coraDir(), graphFile, String(coraSeeds), String(coraEpochs), '50'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] })) as {
      torch: string; threads: number; cora: Array<{ test_accuracy: number }>; cora_accuracy_mean: number; forward: { p50_ms: number; p95_ms: number };
    };
    result.pyg_torch = pyg.torch;
    result.pyg_threads = pyg.threads;
    result.pyg_cora_accuracies = pyg.cora.map((r) => r3(r.test_accuracy));
    result.pyg_cora_accuracy_mean = r3(pyg.cora_accuracy_mean);
    result.pyg_forward_p50_ms_1000 = r3(pyg.forward.p50_ms);
    result.pyg_forward_p95_ms_1000 = r3(pyg.forward.p95_ms);
    const incFile = path.join(PEERS, 'rca-incidents.json');
    fs.writeFileSync(incFile, JSON.stringify(held.map(incidentTable)));
    const rca = JSON.parse(execFileSync(py, [fromRoot('bench/peers/rcaeval_baselines.py'), incFile], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] })) as Record<string, { top1: number; top3: number; failed: number; per_class: Record<string, { top1: number; top3: number }> }>;
    result.rcaeval = rca;
    for (const [name, r] of Object.entries(rca)) {
      result[`rcaeval_${name}_top1`] = r3(r.top1);
      result[`rcaeval_${name}_top3`] = r3(r.top3);
    }
    log('');
    log('                          ours            peer');
    log(`Cora test accuracy        ${String(result.cora_accuracy_mean ?? '-').padEnd(15)} ${result.pyg_cora_accuracy_mean} (PyG SAGEConv, torch ${pyg.torch}, ${pyg.threads} threads)`);
    log(`forward 1,000 nodes p50   ${String(result.forward_p50_ms_1000).padEnd(15)} ${result.pyg_forward_p50_ms_1000} ms`);
    log(`forward 1,000 nodes p95   ${String(result.forward_p95_ms_1000).padEnd(15)} ${result.pyg_forward_p95_ms_1000} ms`);
    for (const [name, r] of Object.entries(rca)) log(`RCA top-1 / top-3         ${`${result.rca_top1} / ${result.rca_top3}`.padEnd(15)} ${r3(r.top1)} / ${r3(r.top3)} (RCAEval ${name}${r.failed ? `, ${r.failed} failed runs` : ''})`);
    for (const [name, r] of Object.entries(rca)) log(`  ${name}: ${Object.entries(r.per_class).map(([k, v]) => `${k} ${r3(v.top1)}/${r3(v.top3)}`).join(', ')}`);
  }

  fs.mkdirSync(path.dirname(fromRoot(out)), { recursive: true });
  fs.writeFileSync(fromRoot(out), `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
