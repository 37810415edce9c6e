/**
 * `npm run bench:ebpf` — what our eBPF programs cost, printed and written to bench/results/ebpf.json:
 *  1. per-run cost of each packet program with BPF_PROG_TEST_RUN (kernel BPF stats off, 5M repeats,
 *     median of 5), next to an empty program of the same type measured the same way: the difference is
 *     the program's own cost, the empty one is the test-run harness on this CPU;
 *  2. the cost the syscall latency tracer adds per syscall (a C getpid loop without / with it), against
 *     libbpf-tools' `syscount -L` as the peer, interleaved in one run, medians of 5;
 *  3. TCP throughput across a veth pair into a namespace without / with xdp_counter + tc_classifier
 *     (iperf3, A/B interleaved, 5 runs each, medians).
 * Peers and tools come from Debian (libbpf-tools, iperf3), installed here when missing; C helpers are
 * compiled into bench/.peers (git-ignored).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { objectPath } from '../bpf/build.js';
import { refusal, runDoctor } from '../bpf/doctor.js';
import { BpfObject } from '../bpf/loader.js';
import { EbpfRuntime } from '../bpf/runtime.js';
import { ConfigError, exitOnError } from '../common/errors.js';
import { fromRoot } from '../common/paths.js';
import { createVethLab, type VethLab } from '../test/ebpf/support/lab.js';

const PEERS = fromRoot('bench/.peers');
const RESULTS = fromRoot('bench/results/ebpf.json');
const ROUNDS = 5;
const REPEAT = 5_000_000;
const GETPID_CALLS = 3_000_000;
const IPERF_SECONDS = 2;

const log = (line: string) => process.stderr.write(`bench:ebpf: ${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env } });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

/** Debian packages only the benchmark needs. */
function ensureTools(): void {
  const need = [
    { pkg: 'libbpf-tools', file: '/usr/sbin/syscount' },
    { pkg: 'iperf3', file: '/usr/bin/iperf3' },
  ].filter((t) => !fs.existsSync(t.file));
  if (need.length === 0) return;
  const pkgs = need.map((t) => t.pkg).join(' ');
  log(`installing ${pkgs} with apt-get`);
  const r = spawnSync('sh', ['-c', `apt-get install -y --no-install-recommends ${pkgs} || (apt-get update && apt-get install -y --no-install-recommends ${pkgs})`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new ConfigError(`apt-get install ${pkgs} failed`);
}

/** syscount attaches classic tracepoints, which need tracefs. */
function ensureTracefs(): void {
  if (fs.existsSync('/sys/kernel/tracing/events')) return;
  log('mounting tracefs on /sys/kernel/tracing (syscount uses classic tracepoints)');
  sh('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing']);
}

function compilePeers(): { getpid: string; empty: string } {
  fs.mkdirSync(PEERS, { recursive: true });
  const getpidSrc = path.join(PEERS, 'getpid_loop.c');
  fs.writeFileSync(
    getpidSrc,
    `#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n` +
      `int main(int argc, char **argv) {\n  long n = argc > 1 ? atol(argv[1]) : 1000000;\n  struct timespec a, b;\n` +
      `  clock_gettime(CLOCK_MONOTONIC, &a);\n  for (long i = 0; i < n; i++) syscall(SYS_getpid);\n  clock_gettime(CLOCK_MONOTONIC, &b);\n` +
      `  printf("%.3f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n);\n  return 0;\n}\n`,
  );
  const getpid = path.join(PEERS, 'getpid_loop');
  sh('clang', ['-O2', '-o', getpid, getpidSrc]);
  const emptySrc = path.join(PEERS, 'empty.bpf.c');
  fs.writeFileSync(
    emptySrc,
    `#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n` +
      `SEC("xdp") int empty_xdp(struct xdp_md *ctx) { return XDP_PASS; }\n` +
      `SEC("tc") int empty_tc(struct __sk_buff *skb) { return -1; }\n` +
      // The floor of any syscall tracer: the kernel's cost of running a program on every syscall entry and exit.
      `SEC("tp_btf/sys_enter") int empty_sys_enter(void *ctx) { return 0; }\n` +
      `SEC("tp_btf/sys_exit") int empty_sys_exit(void *ctx) { return 0; }\n` +
      `char LICENSE[] SEC("license") = "GPL";\n`,
  );
  const empty = path.join(PEERS, 'empty.bpf.o');
  sh('clang', ['-O2', '-g', '-target', 'bpf', '-I', fromRoot('bpf/build'), '-c', emptySrc, '-o', empty]);
  return { getpid, empty };
}

/** A 64-byte Ethernet/IPv4/UDP frame. */
function udpFrame(): Buffer {
  const f = Buffer.alloc(64);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(50, 16);
  f[22] = 64;
  f[23] = 17;
  f.set([10, 250, 0, 1], 26);
  f.set([10, 250, 0, 2], 30);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(9, 36);
  f.writeUInt16BE(30, 38);
  return f;
}

function perRunCosts(emptyObj: string): Record<string, { nsPerRun: number; runs: number[] }> {
  const frame = udpFrame();
  const out: Record<string, { nsPerRun: number; runs: number[] }> = {};
  const measure = (label: string, obj: string, prog: string) => {
    const o = BpfObject.load(obj);
    try {
      const p = o.program(prog);
      p.testRun(frame, 1000); // warm: the flow entry exists, caches are hot
      const runs = Array.from({ length: ROUNDS }, () => p.testRun(frame, REPEAT).nsPerRun);
      out[label] = { nsPerRun: median(runs), runs };
      log(`${label.padEnd(24)} ${median(runs)} ns/run (runs ${runs.join(', ')})`);
    } finally {
      o.close();
    }
  };
  measure('empty_xdp', emptyObj, 'empty_xdp');
  measure('xdp_counter', objectPath('xdp_counter'), 'xdp_counter');
  measure('empty_tc', emptyObj, 'empty_tc');
  measure('tc_classifier_ingress', objectPath('tc_classifier'), 'tc_classifier_ingress');
  measure('tc_classifier_egress', objectPath('tc_classifier'), 'tc_classifier_egress');
  measure('fault_injector', objectPath('fault_injector'), 'fault_injector');
  return out;
}

function getpidNs(bin: string): number {
  return Number(sh(bin, [String(GETPID_CALLS)]).trim());
}

async function withSyscount<T>(fn: () => T): Promise<T> {
  // stdbuf: syscount's "Tracing syscalls" line would otherwise sit in a pipe buffer.
  const child = spawn('stdbuf', ['-oL', '/usr/sbin/syscount', '-L'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d;
      if (/Tracing syscalls/i.test(out)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`syscount exited (${code}) before tracing: ${out}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await ready;
    return fn();
  } finally {
    child.kill('SIGINT');
    await exited;
    clearTimeout(timer);
  }
}

/** getpid with empty programs on the syscall tracepoints: what the mechanism itself adds. */
function getpidNsWithEmptyTracer(getpid: string, emptyObj: string): number {
  const o = BpfObject.load(emptyObj);
  try {
    o.program('empty_sys_enter').attachTrace();
    o.program('empty_sys_exit').attachTrace();
    return getpidNs(getpid);
  } finally {
    o.close();
  }
}

async function syscallCosts(getpid: string, emptyObj: string, rt: EbpfRuntime) {
  const base: number[] = [];
  const empty: number[] = [];
  const ours: number[] = [];
  const oursRaw: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    base.push(getpidNs(getpid));
    empty.push(getpidNsWithEmptyTracer(getpid, emptyObj));
    rt.attach({ program: 'kprobe_syscall_latency', mode: 'tp_btf' });
    ours.push(getpidNs(getpid));
    rt.detach({ program: 'kprobe_syscall_latency' });
    rt.attach({ program: 'kprobe_syscall_latency', mode: 'raw_tp' });
    oursRaw.push(getpidNs(getpid));
    rt.detach({ program: 'kprobe_syscall_latency' });
    peer.push(await withSyscount(() => getpidNs(getpid)));
    log(`round ${i + 1}: getpid ${base.at(-1)} ns, +empty tp_btf pair ${empty.at(-1)}, +ours(tp_btf) ${ours.at(-1)}, +ours(raw_tp) ${oursRaw.at(-1)}, +syscount -L ${peer.at(-1)}`);
  }
  return { base, empty, ours, oursRaw, peer };
}

function iperfGbps(lab: VethLab): number {
  const out = sh('iperf3', ['-c', lab.ns4, '-t', String(IPERF_SECONDS), '-R', '-J']);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

async function trafficAB(rt: EbpfRuntime) {
  const lab = createVethLab();
  const server = spawn('ip', ['netns', 'exec', lab.ns, 'iperf3', '-s'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const without: number[] = [];
    const withProgs: number[] = [];
    const xdpOnly: number[] = [];
    const tcOnly: number[] = [];
    const xdpGeneric: number[] = [];
    const xdp = { program: 'xdp_counter', interface: lab.hostIf } as const;
    const tc = { program: 'tc_classifier', interface: lab.hostIf } as const;
    for (let i = 0; i < ROUNDS; i++) {
      without.push(iperfGbps(lab));
      rt.attach(xdp);
      rt.attach(tc);
      withProgs.push(iperfGbps(lab));
      rt.detach(tc);
      xdpOnly.push(iperfGbps(lab));
      rt.detach(xdp);
      rt.attach(tc);
      tcOnly.push(iperfGbps(lab));
      rt.detach(tc);
      rt.attach({ ...xdp, xdpMode: 'generic' });
      xdpGeneric.push(iperfGbps(lab));
      rt.detach(xdp);
      log(
        `round ${i + 1}: TCP ${lab.ns} → host Gbit/s: ${round1(without.at(-1)!)} without, ${round1(withProgs.at(-1)!)} with xdp_counter + tc_classifier ` +
          `(xdp only ${round1(xdpOnly.at(-1)!)}, tc only ${round1(tcOnly.at(-1)!)}, xdp generic mode ${round1(xdpGeneric.at(-1)!)})`,
      );
    }
    return { without, withProgs, xdpOnly, tcOnly, xdpGeneric };
  } finally {
    server.kill('SIGTERM');
    lab.destroy();
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new ConfigError('bench:ebpf needs root (loading programs, namespaces)');
  const why = refusal(runDoctor({ attachProbes: true }));
  if (why) throw new ConfigError(why);
  ensureTools();
  ensureTracefs();
  const statsOn = fs.readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim() === '1';
  if (statsOn) log('WARNING: kernel.bpf_stats_enabled=1 (a node worker with run stats is running?): every run pays ≈ 35–45 ns more');
  const peers = compilePeers();
  const loadAtStart = os.loadavg().map(round1);
  if (loadAtStart[0]! > 1.5) log(`WARNING: load average ${loadAtStart[0]} on ${os.cpus().length} CPUs: other work will inflate these figures`);

  log(`per-run cost: BPF_PROG_TEST_RUN, ${REPEAT} repeats, median of ${ROUNDS}, 64-byte IPv4/UDP frame`);
  const runs = perRunCosts(peers.empty);

  const rt = new EbpfRuntime({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-bench-')), owner: `bench-${process.pid}` });
  try {
    log(`syscall tracer: getpid loop of ${GETPID_CALLS} calls, ${ROUNDS} interleaved rounds`);
    const sc = await syscallCosts(peers.getpid, peers.empty, rt);
    log(`traffic: iperf3 -R ${IPERF_SECONDS} s across a veth pair, ${ROUNDS} A/B rounds`);
    const tr = await trafficAB(rt);

    const xdp = runs.xdp_counter!.nsPerRun;
    const tcIn = runs.tc_classifier_ingress!.nsPerRun;
    const tcEg = runs.tc_classifier_egress!.nsPerRun;
    const tc = Math.max(tcIn, tcEg);
    const emptyXdp = runs.empty_xdp!.nsPerRun;
    const emptyTc = runs.empty_tc!.nsPerRun;
    const baseNs = median(sc.base);
    const floorAdded = median(sc.empty) - baseNs;
    const oursAdded = median(sc.ours) - baseNs;
    const oursRawAdded = median(sc.oursRaw) - baseNs;
    const peerAdded = median(sc.peer) - baseNs;
    const result = {
      measured_at: new Date().toISOString(),
      machine: { kernel: os.release(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', bpf_stats_enabled: statsOn, loadavg_at_start: loadAtStart, loadavg_at_end: os.loadavg().map(round1) },
      method: {
        per_run: `bpf_prog_test_run_opts, repeat ${REPEAT}, median of ${ROUNDS}, kernel stats off, 64-byte IPv4/UDP frame; *_net_* = minus an empty program of the same type (the harness)`,
        syscalls: `C loop of ${GETPID_CALLS} syscall(SYS_getpid), median of ${ROUNDS} interleaved rounds: none / empty tp_btf sys_enter+sys_exit programs (the floor) / ours (tp_btf) / ours (raw_tp) / syscount -L`,
        traffic: `iperf3 -R -t ${IPERF_SECONDS} over a veth pair into a netns, ${ROUNDS} interleaved rounds of none / xdp+tc / xdp / tc / xdp in generic mode, medians`,
      },
      xdp_counter_ns_per_run: xdp,
      tc_classifier_ns_per_run: tc,
      tc_classifier_ingress_ns_per_run: tcIn,
      tc_classifier_egress_ns_per_run: tcEg,
      fault_injector_ns_per_run: runs.fault_injector!.nsPerRun,
      empty_xdp_ns_per_run: emptyXdp,
      empty_tc_ns_per_run: emptyTc,
      xdp_counter_net_ns_per_run: xdp - emptyXdp,
      tc_classifier_net_ns_per_run: tc - emptyTc,
      getpid_baseline_ns: round1(baseNs),
      syscall_tracepoint_floor_added_ns: round1(floorAdded),
      syscall_tracer_added_ns: round1(oursAdded),
      syscall_tracer_net_of_floor_added_ns: round1(oursAdded - floorAdded),
      syscall_tracer_raw_tp_added_ns: round1(oursRawAdded),
      syscount_peer_added_ns: round1(peerAdded),
      traffic_gbps_without: round1(median(tr.without)),
      traffic_gbps_with_xdp_tc: round1(median(tr.withProgs)),
      traffic_change_percent: round1(((median(tr.withProgs) - median(tr.without)) / median(tr.without)) * 100),
      traffic_gbps_xdp_only: round1(median(tr.xdpOnly)),
      traffic_gbps_tc_only: round1(median(tr.tcOnly)),
      traffic_gbps_xdp_generic_only: round1(median(tr.xdpGeneric)),
      raw: { per_run: runs, syscalls: sc, traffic: tr },
      bars: {
        xdp_counter_le_10ns: { gross: xdp <= 10, net_of_harness: xdp - emptyXdp <= 10 },
        tc_classifier_le_30ns: { gross: tc <= 30, net_of_harness: tc - emptyTc <= 30 },
        syscall_tracer_le_50ns: oursAdded <= 50,
        syscall_tracer_le_peer: oursAdded <= peerAdded,
      },
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify(result, null, 2) + '\n');
    const row = (k: string, v: string | number) => console.log(`${k.padEnd(34)} ${v}`);
    console.log('\neBPF benchmark (bench/results/ebpf.json)');
    row('xdp_counter ns/run', `${xdp} (empty XDP program ${emptyXdp}; own cost ${xdp - emptyXdp})`);
    row('tc_classifier ns/run', `${tc} (ingress ${tcIn}, egress ${tcEg}; empty TC program ${emptyTc}; own cost ${tc - emptyTc})`);
    row('fault_injector ns/run', runs.fault_injector!.nsPerRun);
    row('getpid ns (no tracer)', round1(baseNs));
    row('empty tp_btf pair added ns/syscall', `${round1(floorAdded)} (the floor of any tracer on this kernel)`);
    row('syscall tracer added ns/syscall', `${round1(oursAdded)} (tp_btf; raw_tp ${round1(oursRawAdded)}; own cost ${round1(oursAdded - floorAdded)})`);
    row('syscount -L added ns/syscall', round1(peerAdded));
    row('TCP over veth Gbit/s', `${round1(median(tr.without))} without, ${round1(median(tr.withProgs))} with (${result.traffic_change_percent}%); xdp only ${result.traffic_gbps_xdp_only}, tc only ${result.traffic_gbps_tc_only}, xdp generic mode ${result.traffic_gbps_xdp_generic_only}`);
    row('bars', JSON.stringify(result.bars));
  } finally {
    rt.close();
  }
}

main().catch(exitOnError);
