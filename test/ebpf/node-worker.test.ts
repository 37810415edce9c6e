/**
 * The node worker process with eBPF on: its activities on `x0t-node-<id>` driven through Temporal,
 * its /metrics scraped by a real Prometheus, its refusal without privileges, and nothing of ours left
 * in the kernel after it shuts down.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { refusal, runDoctor } from '../../bpf/doctor.js';
import { fromRoot } from '../../common/paths.js';
import { nodeTaskQueue } from '../../common/task-queues.js';
import type { WorkerProcess } from '../../common/worker-process.js';
import type { EbpfTelemetrySnapshot } from '../../activities/node/ebpf/telemetry.js';
import { testEnv } from '../support/env.js';
import { startWorkerProcess, testClient } from '../support/workers.js';
import { createVethLab, labUnavailable, pingFromNs, programsGone, type VethLab } from './support/lab.js';
import { ensurePrometheus, startPrometheus } from './support/prometheus.js';
import type { EbpfStep } from './support/workflows.js';

const env = testEnv(import.meta.url);
const skip = labUnavailable() ?? refusal(runDoctor());
const nodeId = `ebpf-${process.pid}`;

describe('node worker with eBPF on', { skip }, () => {
  let lab: VethLab;
  let node: WorkerProcess;
  let client: Client;
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let stepsWorker: Worker;
  let stepsRunning: Promise<void>;
  const stepsQueue = `ebpf-steps-${process.pid}`;

  before(async () => {
    lab = createVethLab();
    node = await startWorkerProcess(env, 'node', { nodeId, extraEnv: { X0T_EBPF: 'on', X0T_EBPF_INTERFACES: lab.hostIf } });
    ({ client, connection } = await testClient(env));
    nativeConnection = await NativeConnection.connect({ address: env.address });
    const bundle = await bundleWorkflowCode({ workflowsPath: fromRoot('test/ebpf/support/workflows.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    stepsWorker = await Worker.create({ connection: nativeConnection, namespace: env.namespace, taskQueue: stepsQueue, workflowBundle: bundle });
    stepsRunning = stepsWorker.run();
  });

  after(async () => {
    stepsWorker?.shutdown();
    await stepsRunning;
    await nativeConnection?.close();
    await connection?.close();
    await node?.stop();
    lab?.destroy();
  });

  const run = (steps: EbpfStep[]) =>
    client.workflow.execute('ebpfSteps', { taskQueue: stepsQueue, workflowId: `ebpf-steps-${Date.now()}-${Math.random()}`, args: [{ taskQueue: nodeTaskQueue(nodeId), steps }] }) as Promise<unknown[]>;

  it('attach is idempotent through the node\'s task queue, and policy writes do not stack', async () => {
    const [xdp, tc, set1, set2, status, cleared1, cleared2] = (await run([
      { activity: 'ebpfAttach', input: { program: 'xdp_counter', interface: lab.hostIf } },
      { activity: 'ebpfAttach', input: { program: 'tc_classifier', interface: lab.hostIf } },
      { activity: 'ebpfSetSourcePolicy', input: { source: lab.ns4, action: 'drop' } },
      { activity: 'ebpfSetSourcePolicy', input: { source: lab.ns4, action: 'drop' } },
      { activity: 'ebpfStatus' },
      { activity: 'ebpfClearSourcePolicy', input: { source: lab.ns4 } },
      { activity: 'ebpfClearSourcePolicy', input: { source: lab.ns4 } },
    ])) as Array<Record<string, unknown>>;
    assert.equal(xdp!.alreadyAttached, true, 'X0T_EBPF_INTERFACES attached it at start');
    assert.equal(tc!.alreadyAttached, true);
    assert.equal(set1!.changed, true);
    assert.equal(set2!.changed, false);
    assert.deepEqual((status!.attached as string[]).sort(), ['kprobe_syscall_latency', `tc_classifier@${lab.hostIf}:both`, 'tracepoint_net', `xdp_counter@${lab.hostIf}`].sort());
    assert.equal(cleared1!.cleared, true);
    assert.equal(cleared2!.cleared, false);
  });

  it('bad input fails at once as InvalidInput', async () => {
    await assert.rejects(run([{ activity: 'ebpfAttach', input: { program: 'xdp_counter', interface: 'no such if' } }]), (err: Error & { cause?: { cause?: { type?: string } } }) => {
      assert.equal(err.cause?.cause?.type, 'InvalidInput');
      return true;
    });
  });

  it('a telemetry snapshot gives rates over its interval, not cumulative counters, and syscall p50/p99', async () => {
    pingFromNs(lab, lab.host4, 200, { intervalS: 0.002 }); // counters are now >= 200, all before the interval
    const [quiet] = (await run([{ activity: 'ebpfTelemetrySnapshot', input: { intervalMs: 1000 } }])) as EbpfTelemetrySnapshot[];
    const icmp = (s: EbpfTelemetrySnapshot) => s.interfaces.find((x) => x.interface === lab.hostIf && x.l3 === 'ipv4' && x.l4 === 'icmp');
    assert.equal(icmp(quiet!)?.packetsPerSec ?? 0, 0, 'no traffic in the interval: rate 0 whatever the counters hold');

    const busy = run([{ activity: 'ebpfTelemetrySnapshot', input: { intervalMs: 2000 } }]);
    await new Promise((r) => setTimeout(r, 300));
    const sent = pingFromNs(lab, lab.host4, 100, { intervalS: 0.005 });
    const [snap] = (await busy) as EbpfTelemetrySnapshot[];
    const rate = icmp(snap!)?.packetsPerSec ?? 0;
    assert.ok(rate > 0 && rate * (snap!.intervalMs / 1000) <= sent.transmitted + 0.5, `rate ${rate}/s over ${snap!.intervalMs} ms for ${sent.transmitted} pings`);
    const flow = snap!.flows.find((f) => f.src === lab.ns4 && f.direction === 'ingress');
    assert.ok(flow && flow.packetsPerSec > 0);
    assert.ok(snap!.syscalls.length > 0);
    for (const s of snap!.syscalls) assert.ok(s.p99Ns >= s.p50Ns && s.p50Ns > 0, JSON.stringify(s));
    assert.ok(snap!.programs.some((p) => p.program === 'xdp_counter' && p.runsPerSec > 0 && (p.nsPerRun ?? 0) > 0));
  });

  it('/metrics carries the exporter\'s series, and a real Prometheus scrapes them and finds them through its query API', async (t) => {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    for (const series of [
      `x0t_xdp_packets_total{interface="${lab.hostIf}",l3="ipv4",l4="icmp"}`,
      'x0t_syscall_latency_seconds_bucket{syscall="read",le="+Inf"}',
      `x0t_tc_packets_total{interface="${lab.hostIf}",direction="ingress",protocol="icmp"}`,
      'x0t_net_device_packets_total{',
      `x0t_bpf_program_run_seconds_total{object="xdp_counter@${lab.hostIf}",program="xdp_counter"}`,
      `x0t_bpf_program_runs_total{object="xdp_counter@${lab.hostIf}",program="xdp_counter"}`,
    ]) {
      assert.ok(text.includes(series), `missing ${series}`);
    }
    const why = ensurePrometheus();
    if (why) return t.skip(why);
    const prom = await startPrometheus(new URL(node.httpUrl).host);
    try {
      const wanted = [
        `x0t_xdp_packets_total{interface="${lab.hostIf}",l4="icmp"}`,
        'x0t_syscall_latency_seconds_count',
        `histogram_quantile(0.99, sum by (le) (x0t_syscall_latency_seconds_bucket{syscall="read"}))`,
        'x0t_net_drops_total',
        'x0t_bpf_program_runs_total{program="xdp_counter"}',
      ];
      const found = new Map<string, number>();
      for (let i = 0; i < 60 && found.size < wanted.length; i++) {
        for (const q of wanted) {
          const r = await prom.query(q);
          if (r.length > 0) found.set(q, r.length);
        }
        if (found.size < wanted.length) await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(wanted.filter((q) => !found.has(q)), [], 'every series is in Prometheus');
      const [packets] = await prom.query(`x0t_xdp_packets_total{interface="${lab.hostIf}",l3="ipv4",l4="icmp"}`);
      assert.ok(Number(packets!.value[1]) >= 300, `scraped ${packets!.value[1]} packets`);
    } finally {
      await prom.stop();
    }
  });

  it('after the worker shuts down, bpftool prog list shows none of its programs', async () => {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const ids = [...text.matchAll(/^x0t_bpf_program_info\{[^}]*id="(\d+)"[^}]*\} 1$/gm)].map((m) => Number(m[1]));
    assert.ok(ids.length >= 7, `program ids from /metrics: ${ids}`); // xdp 1 + tc 2 + tracepoint_net 3 + syscalls 2
    await node.stop();
    assert.equal((await node.exited).code, 0);
    assert.deepEqual(await programsGone(ids), []);
    const listed = JSON.parse(spawnSync('bpftool', ['prog', 'list', '-j'], { encoding: 'utf8' }).stdout) as Array<{ id: number }>;
    assert.deepEqual(listed.filter((p) => ids.includes(p.id)), []);
  });
});

describe('node worker preflight', { skip: process.getuid?.() !== 0 ? 'needs root to start a child without privileges' : undefined }, () => {
  it('without privileges and X0T_EBPF on, the node worker refuses to start with what is missing (exit 2, no crash)', async () => {
    const child = spawn(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', fromRoot('workers/main.ts'), '--role', 'node', '--node-id', 'unprivileged', '--http-port', '0'],
      { cwd: fromRoot('.'), env: { ...process.env, HOME: '/nonexistent', TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace, X0T_EBPF: 'on' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /eBPF is not usable on this machine/);
    assert.match(stderr, /capabilities:.*\n\s+fix: run the node worker as root/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });
});
