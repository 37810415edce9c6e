/**
 * The five programs on real kernel objects: loaded by our loader, attached to a veth pair whose other
 * end lives in a network namespace the test makes, and checked against traffic sent only across it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { refusal, runDoctor } from '../../bpf/doctor.js';
import { histogramQuantile } from '../../bpf/decoders.js';
import { BpfLoadError, BpfObject, ifindexOf } from '../../bpf/loader.js';
import { EbpfRuntime, type CounterReading } from '../../bpf/runtime.js';
import { fromRoot } from '../../common/paths.js';
import { createVethLab, labUnavailable, pingFromNs, programsGone, type VethLab } from './support/lab.js';

const skip = labUnavailable() ?? refusal(runDoctor({ attachProbes: true }));

describe('eBPF programs on a veth pair into a test namespace', { skip }, () => {
  let lab: VethLab;
  let rt: EbpfRuntime;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-ebpf-'));

  before(() => {
    lab = createVethLab();
    rt = new EbpfRuntime({ stateDir, owner: `test-${process.pid}` });
    rt.recoverStale();
  });

  after(() => {
    rt?.close();
    lab?.destroy();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const icmpFlows = (r: CounterReading, type: number, direction: string) =>
    r.flows.filter((f) => f.interface === lab.hostIf && f.icmpType === type && f.direction === direction).reduce((a, f) => a + f.packets, 0);

  it('xdp_counter counts N pings as exactly N ICMP echo requests (and their bytes) on the interface', () => {
    rt.attach({ program: 'xdp_counter', interface: lab.hostIf });
    const before = rt.read().xdp.find((x) => x.interface === lab.hostIf && x.l3 === 'ipv4' && x.l4 === 'icmp');
    const ping = pingFromNs(lab, lab.host4, 25);
    assert.equal(ping.received, 25);
    const x = rt.read().xdp.find((s) => s.interface === lab.hostIf && s.l3 === 'ipv4' && s.l4 === 'icmp');
    assert.ok(x, 'an ipv4/icmp series for the lab interface');
    assert.equal(x.packets - (before?.packets ?? 0), 25);
    assert.equal(x.bytes - (before?.bytes ?? 0), 25 * 98); // 14 Ethernet + 20 IPv4 + 8 ICMP + 56 data
    assert.equal(x.drops, 0);

    pingFromNs(lab, lab.host6, 10);
    const v6 = rt.read().xdp.find((s) => s.interface === lab.hostIf && s.l3 === 'ipv6' && s.l4 === 'icmpv6');
    assert.ok(v6 && v6.packets >= 10, `IPv6 ICMPv6 counted (${v6?.packets}; neighbour discovery adds a few)`);
  });

  it('xdp_counter attached twice is one attachment', () => {
    const again = rt.attach({ program: 'xdp_counter', interface: lab.hostIf });
    assert.equal(again.alreadyAttached, true);
    assert.equal(rt.attached().filter((k) => k.startsWith('xdp_counter@')).length, 1);
  });

  it('tc_classifier sees N echo requests on ingress and N replies on egress as flows (IPv4 and IPv6)', () => {
    rt.attach({ program: 'tc_classifier', interface: lab.hostIf });
    const r0 = rt.read();
    pingFromNs(lab, lab.host4, 20);
    pingFromNs(lab, lab.host6, 15);
    const r1 = rt.read();
    assert.equal(icmpFlows(r1, 8, 'ingress') - icmpFlows(r0, 8, 'ingress'), 20);
    assert.equal(icmpFlows(r1, 0, 'egress') - icmpFlows(r0, 0, 'egress'), 20);
    assert.equal(icmpFlows(r1, 128, 'ingress') - icmpFlows(r0, 128, 'ingress'), 15);
    assert.equal(icmpFlows(r1, 129, 'egress') - icmpFlows(r0, 129, 'egress'), 15);
    const req = r1.flows.find((f) => f.interface === lab.hostIf && f.icmpType === 8 && f.direction === 'ingress')!;
    assert.equal(req.src, lab.ns4);
    assert.equal(req.dst, lab.host4);
    assert.ok(req.lastSeenNs >= req.firstSeenNs && req.firstSeenNs > 0);
    // Kernel jiffies converted to CLOCK_MONOTONIC ns (what process.hrtime reads): "last seen" is just now.
    assert.ok(Math.abs(Number(process.hrtime.bigint()) - req.lastSeenNs) < 2e9, `last seen ${req.lastSeenNs} vs now ${process.hrtime.bigint()}`);
  });

  it('a drop policy on a source drops its packets (an action, not a count) until it is cleared; a repeated write does not stack', () => {
    const first = rt.setPolicy({ source: lab.ns4, action: 'drop' });
    assert.equal(first.changed, true);
    const blocked = pingFromNs(lab, lab.host4, 10);
    assert.equal(blocked.received, 0);
    const again = rt.setPolicy({ source: lab.ns4, action: 'drop' });
    assert.equal(again.changed, false);
    assert.equal(again.policy.dropped, 10, 'the retried write kept the counters');
    assert.equal(rt.clearPolicy(lab.ns4), true);
    assert.equal(rt.clearPolicy(lab.ns4), false);
    assert.equal(pingFromNs(lab, lab.host4, 5).received, 5);
  });

  it('a rate-limit policy passes the token bucket burst and drops the excess', () => {
    // 1014-byte frames (972 bytes of ping data), burst 5000 bytes: 4 fit; a 100 bytes/s refill adds
    // less than one frame unless the 20 pings take over 10 s.
    rt.setPolicy({ source: lab.ns4, action: 'rate_limit', rateBytesPerSec: 100, burstBytes: 5000 });
    const ping = pingFromNs(lab, lab.host4, 20, { size: 972 });
    const p = rt.read().policies.find((x) => x.source === lab.ns4)!;
    rt.clearPolicy(lab.ns4);
    assert.ok(p.passed >= 4 && p.passed <= 5, `passed ${p.passed}`);
    assert.equal(p.passed + p.dropped, 20);
    assert.equal(ping.received, p.passed);
  });

  it('fault_injector drops the configured share of a link\'s packets within 5 standard deviations', () => {
    rt.attach({ program: 'fault_injector', interface: lab.hostIf, direction: 'egress', dropPercent: 30 });
    const ping = pingFromNs(lab, lab.host4, 1000, { intervalS: 0.001 });
    const f = rt.read().faults.find((x) => x.key === `fault_injector@${lab.hostIf}:egress`)!;
    const share = f.dropped / f.seen;
    const sigma = Math.sqrt((0.3 * 0.7) / f.seen);
    assert.ok(f.seen >= 1000, `seen ${f.seen}`);
    assert.ok(Math.abs(share - 0.3) <= 5 * sigma, `dropped ${f.dropped}/${f.seen} = ${share.toFixed(3)}, want 0.30 ± ${(5 * sigma).toFixed(3)}`);
    const lost = ping.transmitted - ping.received;
    assert.ok(lost <= f.dropped && f.dropped - lost <= 10, `ping lost ${lost}, injector dropped ${f.dropped} (other IP packets on the link are few)`);

    const off = rt.attach({ program: 'fault_injector', interface: lab.hostIf, direction: 'egress', dropPercent: 0 });
    assert.equal(off.alreadyAttached, true);
    assert.equal(pingFromNs(lab, lab.host4, 30).received, 30);
    assert.equal(rt.detach({ program: 'fault_injector', interface: lab.hostIf, direction: 'egress' }), true);
    assert.equal(rt.detach({ program: 'fault_injector', interface: lab.hostIf, direction: 'egress' }), false);
  });

  it('tracepoint_net counts drops by the kernel\'s reason, and device transmit/receive', async () => {
    rt.attach({ program: 'tracepoint_net' });
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 30; i++) await new Promise<void>((res, rej) => sock.send(Buffer.from('x'), 9, lab.ns4, (e) => (e ? rej(e) : res())));
    sock.close();
    await new Promise((r) => setTimeout(r, 200));
    const r = rt.read();
    const noSocket = r.drops.filter((d) => d.interface === lab.nsIf && d.reason === 'no_socket').reduce((a, d) => a + d.count, 0);
    assert.equal(noSocket, 30, JSON.stringify(r.drops.filter((d) => d.interface === lab.nsIf)));
    const tx = r.devices.find((d) => d.interface === lab.hostIf && d.direction === 'transmit');
    const rx = r.devices.find((d) => d.interface === lab.nsIf && d.direction === 'receive');
    assert.ok(tx && tx.packets >= 30, `transmit on ${lab.hostIf}: ${tx?.packets}`);
    assert.ok(rx && rx.packets >= 30, `receive on ${lab.nsIf}: ${rx?.packets}`);
  });

  it('kprobe_syscall_latency builds per-syscall log2 histograms from the syscall tracepoints (tp_btf and raw_tp)', () => {
    for (const mode of ['tp_btf', 'raw_tp'] as const) {
      rt.attach({ program: 'kprobe_syscall_latency', mode });
      const count = (r: CounterReading) => r.syscalls.filter((h) => h.syscall === 'statx' || h.syscall === 'newfstatat').reduce((a, h) => a + h.count, 0);
      const c0 = count(rt.read());
      for (let i = 0; i < 2000; i++) fs.statSync('/');
      const r = rt.read();
      assert.ok(count(r) - c0 >= 2000, `${mode}: stat calls counted ${count(r) - c0}`);
      const h = r.syscalls.find((x) => x.syscall === 'statx' || x.syscall === 'newfstatat')!;
      const p50 = histogramQuantile(h.buckets, 0.5)!;
      const p99 = histogramQuantile(h.buckets, 0.99)!;
      assert.ok(p50 > 0 && p99 >= p50 && h.sumNs > 0, `${mode}: p50 ${p50} p99 ${p99}`);
    }
  });

  it('a syscall that blocks (the task is switched out and may resume on another CPU) is measured too', () => {
    rt.attach({ program: 'kprobe_syscall_latency' });
    const long = (r: CounterReading) => {
      const h = r.syscalls.find((x) => x.syscall === 'clock_nanosleep');
      return h ? h.buckets.slice(28).reduce((a, b) => a + b, 0) : 0; // buckets >= 2^28 ns ≈ 0.27 s
    };
    const before = long(rt.read());
    const res = spawnSync('sleep', ['0.3']);
    assert.equal(res.status, 0);
    assert.ok(long(rt.read()) - before >= 1, 'a ≥ 0.27 s clock_nanosleep was recorded');
  });

  it('the classic tracepoint mode needs tracefs: without it the error says so, with it the histograms fill', () => {
    const mounted = () => fs.existsSync('/sys/kernel/tracing/events');
    if (!mounted()) {
      assert.throws(() => rt.attach({ program: 'kprobe_syscall_latency', mode: 'tracepoint' }), /needs tracefs[\s\S]*tp_btf/);
      const m = spawnSync('mount', ['-t', 'tracefs', 'tracefs', '/sys/kernel/tracing'], { encoding: 'utf8' });
      assert.equal(m.status, 0, m.stderr);
    }
    rt.attach({ program: 'kprobe_syscall_latency', mode: 'tracepoint' });
    const count = (r: CounterReading) => r.syscalls.filter((h) => h.syscall === 'statx' || h.syscall === 'newfstatat').reduce((a, h) => a + h.count, 0);
    const c0 = count(rt.read());
    for (let i = 0; i < 500; i++) fs.statSync('/');
    assert.ok(count(rt.read()) - c0 >= 500);
    rt.attach({ program: 'kprobe_syscall_latency' }); // back to the default mode
  });

  it('fentry programs attach through the loader (fentry on the kernel\'s bpf_fentry_test1, fired by a test run)', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-fentry-'));
    try {
      const src = path.join(dir, 'fentry.bpf.c');
      fs.writeFileSync(
        src,
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n' +
          'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");\n' +
          'SEC("fentry/bpf_fentry_test1") int BPF_PROG(on_test1, int a) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&hits, &k); if (v) __sync_fetch_and_add(v, 1); return 0; }\n' +
          'char LICENSE[] SEC("license") = "GPL";\n',
      );
      const obj = path.join(dir, 'fentry.bpf.o');
      const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', fromRoot('bpf/build'), '-c', src, '-o', obj], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      let o: BpfObject;
      try {
        o = BpfObject.load(obj);
      } catch (err) {
        if (err instanceof BpfLoadError && err.errno === 1) return t.skip(`this kernel refuses fentry programs (EPERM at load, no verifier log): ${err.message.split('\n')[0]}`);
        throw err;
      }
      try {
        const p = o.program('on_test1');
        const link = p.attachTrace();
        p.testRun(Buffer.alloc(0), 1); // BPF_PROG_TEST_RUN of a tracing program calls bpf_fentry_test1..8
        assert.equal(o.map('hits').lookup(Buffer.alloc(4))!.readBigUInt64LE(0), 1n);
        link.destroy();
        p.testRun(Buffer.alloc(0), 1);
        assert.equal(o.map('hits').lookup(Buffer.alloc(4))!.readBigUInt64LE(0), 1n, 'detached: no more hits');
      } finally {
        o.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the kprobe attach mode fails with an error naming the tracepoint mode on a kernel without kprobes', (t) => {
    if (fs.existsSync('/sys/bus/event_source/devices/kprobe')) return t.skip('this kernel has kprobes: the mode attaches');
    assert.throws(() => rt.attach({ program: 'kprobe_syscall_latency', mode: 'kprobe' }), /no kprobes[\s\S]*tp_btf/);
    rt.attach({ program: 'kprobe_syscall_latency' }); // the default mode still works afterwards
  });

  it('a program the verifier refuses fails to load with the verifier log in the error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-bad-'));
    try {
      const src = path.join(dir, 'bad.bpf.c');
      fs.writeFileSync(
        src,
        '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n' +
          'SEC("xdp") int bad(struct xdp_md *ctx) { unsigned char *p = (void *)(long)ctx->data; return p[100]; }\n' +
          'char LICENSE[] SEC("license") = "GPL";\n',
      );
      const obj = path.join(dir, 'bad.bpf.o');
      const cc = spawnSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', fromRoot('bpf/build'), '-c', src, '-o', obj], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      assert.throws(
        () => BpfObject.load(obj),
        (err: unknown) => err instanceof BpfLoadError && /invalid access to packet/.test(err.verifierLog) && /verifier log/.test(err.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps and links can be pinned on a bpffs, and destroying the link removes its pin', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-bpffs-'));
    const mount = spawnSync('mount', ['-t', 'bpf', 'bpf', dir], { encoding: 'utf8' });
    if (mount.status !== 0) {
      fs.rmdirSync(dir);
      return t.skip(`cannot mount a private bpffs: ${mount.stderr.trim()}`);
    }
    try {
      const obj = BpfObject.load(fromRoot('bpf/build/xdp_counter.bpf.o'));
      try {
        obj.map('xdp_stats').pin(path.join(dir, 'xdp_stats'));
        const link = obj.program('xdp_counter').attachXdp(ifindexOf('lo'));
        link.pin(path.join(dir, 'link'));
        assert.ok(fs.existsSync(path.join(dir, 'xdp_stats')) && fs.existsSync(path.join(dir, 'link')));
        link.destroy();
        assert.equal(fs.existsSync(path.join(dir, 'link')), false);
        obj.map('xdp_stats').unpin(path.join(dir, 'xdp_stats'));
        assert.equal(fs.existsSync(path.join(dir, 'xdp_stats')), false);
      } finally {
        obj.close();
      }
    } finally {
      spawnSync('umount', [dir]);
      fs.rmdirSync(dir);
    }
  });

  it('a legacy TC filter left by a crashed process is removed at the next start (crash recovery)', async () => {
    const crashDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-crash-'));
    try {
      // A child attaches a legacy (netlink) TC filter, prints its program ids, and is SIGKILLed.
      const script =
        `import { EbpfRuntime } from ${JSON.stringify(fromRoot('bpf/runtime.ts'))};\n` +
        `const rt = new EbpfRuntime({ stateDir: ${JSON.stringify(crashDir)}, owner: 'crash' });\n` +
        `const r = rt.attach({ program: 'tc_classifier', interface: ${JSON.stringify(lab.hostIf)}, direction: 'ingress', legacyTc: true });\n` +
        `console.log(JSON.stringify(r.progIds));\nprocess.kill(process.pid, 'SIGKILL');\n`;
      const file = path.join(crashDir, 'crash.mts');
      fs.writeFileSync(file, script);
      const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: fromRoot('.'), stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await new Promise((r) => child.once('exit', r));
      const ids = JSON.parse(out) as number[];
      assert.equal(ids.length, 1);
      assert.deepEqual(await programsGone(ids, 500), ids, 'the filter outlived its process (as legacy TC filters do)');

      const next = new EbpfRuntime({ stateDir: crashDir, owner: 'crash' });
      assert.deepEqual(next.recoverStale().legacyTc, [`${lab.hostIf}:ingress`]);
      next.close();
      assert.deepEqual(await programsGone(ids), []);
    } finally {
      fs.rmSync(crashDir, { recursive: true, force: true });
    }
  });

  it('after close nothing of ours is left: bpftool prog list shows none of our programs', async () => {
    const ids = rt.programIds();
    assert.ok(ids.length >= 5, `programs loaded: ${ids}`);
    rt.close();
    assert.deepEqual(await programsGone(ids), []);
    const listed = JSON.parse(spawnSync('bpftool', ['prog', 'list', '-j'], { encoding: 'utf8' }).stdout) as Array<{ id: number }>;
    assert.deepEqual(listed.filter((p) => ids.includes(p.id)), []);
  });
});

describe('eBPF without privileges', { skip: process.getuid?.() !== 0 ? 'needs root to drop privileges for the child' : undefined }, () => {
  it('npm run doctor as an unprivileged user names the missing capabilities and what to do, and exits 2', () => {
    const res = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', fromRoot('bin/doctor.ts')], {
      cwd: fromRoot('.'),
      encoding: 'utf8',
    });
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stdout, /FAIL\s+capabilities/);
    assert.match(res.stdout, /fix: run the node worker as root.*X0T_EBPF=off/);
  });
});
