/**
 * What this machine can do for eBPF, and what to do about what it cannot: kernel, BTF, bpffs,
 * tracefs, capabilities, libbpf, the built objects, and — probed through libbpf, not guessed from the
 * kernel version — the program types, map types and attach types our programs use. `npm run doctor`
 * prints it; the node worker runs the same checks at start and refuses with the same words.
 */
import fs from 'node:fs';
import os from 'node:os';
import { BPF_BUILD_DIR, objectPath } from './build.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE, LibbpfError, libbpf, libbpfVersion } from './libbpf.js';
import { BpfObject, ifindexOf } from './loader.js';
import { PROGRAMS } from './runtime.js';

export interface Check {
  name: string;
  ok: boolean;
  /** required: the node worker refuses to start with eBPF on without it. optional: a feature is off. */
  need: 'required' | 'optional';
  detail: string;
  /** What to do when !ok. */
  fix?: string;
}

const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

function capabilities(): Set<number> {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  const bits = BigInt(`0x${m?.[1] ?? '0'}`);
  const out = new Set<number>();
  for (let i = 0; i < 64; i++) if ((bits >> BigInt(i)) & 1n) out.add(i);
  return out;
}

function mountedAs(dir: string, fstype: string): boolean {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const [, mnt, type] = l.split(' ');
      return mnt === dir && type === fstype;
    });
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = os.release().split(/[.-]/).map(Number);
  return a > major || (a === major && b >= minor);
}

/** Runs every check. `attachProbes` also attaches our programs to `lo` for an instant (XDP, tcx, tp_btf). */
export function runDoctor(opts: { attachProbes?: boolean } = {}): Check[] {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);

  add({
    name: 'kernel',
    ok: kernelAtLeast(5, 8),
    need: 'required',
    detail: `Linux ${os.release()} (the programs need >= 5.8; what this kernel supports is probed below)`,
    fix: 'run on a kernel >= 5.8 (tcx needs >= 6.6, else use legacy TC)',
  });

  const caps = capabilities();
  const hasBpf = caps.has(CAP.SYS_ADMIN) || (caps.has(CAP.BPF) && caps.has(CAP.PERFMON));
  add({
    name: 'capabilities',
    ok: hasBpf && caps.has(CAP.NET_ADMIN),
    need: 'required',
    detail: `CAP_BPF=${caps.has(CAP.BPF)} CAP_PERFMON=${caps.has(CAP.PERFMON)} CAP_NET_ADMIN=${caps.has(CAP.NET_ADMIN)} CAP_SYS_ADMIN=${caps.has(CAP.SYS_ADMIN)} (uid ${process.getuid?.()})`,
    fix: 'run the node worker as root, or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (e.g. systemd AmbientCapabilities=); or start it with X0T_EBPF=off',
  });

  add({
    name: 'btf',
    ok: fs.existsSync('/sys/kernel/btf/vmlinux'),
    need: 'required',
    detail: fs.existsSync('/sys/kernel/btf/vmlinux') ? '/sys/kernel/btf/vmlinux present (CO-RE works)' : '/sys/kernel/btf/vmlinux missing',
    fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian kernels are)',
  });

  const bpffs = mountedAs('/sys/fs/bpf', 'bpf');
  add({
    name: 'bpffs',
    ok: bpffs,
    need: 'optional',
    detail: bpffs ? '/sys/fs/bpf is a bpffs mount' : '/sys/fs/bpf is not a bpffs mount (pinning maps/links is off)',
    fix: 'mount -t bpf bpf /sys/fs/bpf',
  });

  const tracefs = mountedAs('/sys/kernel/tracing', 'tracefs') || fs.existsSync('/sys/kernel/tracing/events');
  add({
    name: 'tracefs',
    ok: tracefs,
    need: 'optional',
    detail: tracefs ? '/sys/kernel/tracing mounted' : '/sys/kernel/tracing not mounted (classic tracepoint attach is off; tp_btf/raw_tp need none)',
    fix: 'mount -t tracefs tracefs /sys/kernel/tracing',
  });

  let libOk = false;
  try {
    libbpf();
    libOk = true;
    add({ name: 'libbpf', ok: true, need: 'required', detail: `libbpf ${libbpfVersion()} loaded through koffi` });
  } catch (err) {
    add({ name: 'libbpf', ok: false, need: 'required', detail: (err as Error).message, fix: 'apt-get install libbpf1 (npm run setup as root)' });
  }

  const missing = PROGRAMS.filter((p) => !fs.existsSync(objectPath(p)));
  add({
    name: 'objects',
    ok: missing.length === 0,
    need: 'required',
    detail: missing.length === 0 ? `${PROGRAMS.length} programs built in ${BPF_BUILD_DIR}` : `not built: ${missing.join(', ')}`,
    fix: 'npm run build:bpf (needs clang, llvm, bpftool, libbpf-dev: npm run setup as root)',
  });

  if (!libOk) return checks;
  if (!hasBpf) {
    add({
      name: 'program/map/attach types',
      ok: false,
      need: 'optional',
      detail: 'not probed: probing loads programs, which needs the capabilities above',
      fix: 'run `npm run doctor` as root to see what this kernel supports',
    });
    return checks;
  }
  const l = libbpf();
  const probe = (ret: number) => (ret === 1 ? 'yes' : ret === 0 ? 'no' : `probe failed (${ret})`);
  const progTypes: Array<[string, number, 'required' | 'optional', string]> = [
    ['xdp', BPF_PROG_TYPE.XDP, 'required', 'xdp_counter'],
    ['sched_cls (tc)', BPF_PROG_TYPE.SCHED_CLS, 'required', 'tc_classifier, fault_injector'],
    // BPF_PROG_TYPE_TRACING (tp_btf/fentry) cannot be probed by type alone (it needs a BTF target):
    // the 'attach tp_btf' check below loads and attaches a real one.
    ['raw_tracepoint', BPF_PROG_TYPE.RAW_TRACEPOINT, 'optional', 'syscall tracer mode raw_tp'],
    ['tracepoint', BPF_PROG_TYPE.TRACEPOINT, 'optional', 'syscall tracer mode tracepoint'],
    ['kprobe', BPF_PROG_TYPE.KPROBE, 'optional', 'syscall tracer mode kprobe'],
  ];
  for (const [name, type, need, usedBy] of progTypes) {
    const r = l.libbpf_probe_bpf_prog_type(type, null);
    add({ name: `prog type ${name}`, ok: r === 1, need, detail: `${probe(r)} (used by ${usedBy})`, fix: 'a kernel with this BPF program type (CONFIG_BPF_SYSCALL, CONFIG_BPF_EVENTS, CONFIG_NET_CLS_ACT)' });
  }
  const mapTypes: Array<[string, number, string]> = [
    ['percpu_hash', BPF_MAP_TYPE.PERCPU_HASH, 'a kernel >= 4.6'],
    ['percpu_array', BPF_MAP_TYPE.PERCPU_ARRAY, 'a kernel >= 4.6'],
    ['lru_hash', BPF_MAP_TYPE.LRU_HASH, 'a kernel >= 4.10'],
    ['task_storage', BPF_MAP_TYPE.TASK_STORAGE, 'a kernel >= 5.11 with CONFIG_BPF_LSM (task storage, used by the syscall tracer)'],
  ];
  for (const [name, type, fix] of mapTypes) {
    const r = l.libbpf_probe_bpf_map_type(type, null);
    add({ name: `map type ${name}`, ok: r === 1, need: 'required', detail: probe(r), fix });
  }
  const kprobePmu = fs.existsSync('/sys/bus/event_source/devices/kprobe');
  add({
    name: 'attach kprobe',
    ok: kprobePmu,
    need: 'optional',
    detail: kprobePmu ? 'kprobe PMU present' : 'no kprobe PMU: kernel without CONFIG_KPROBES (the syscall tracer uses its default tp_btf mode)',
    fix: 'nothing needed; kprobe mode is optional',
  });

  if (opts.attachProbes && missing.length === 0) checks.push(...attachProbes());
  return checks;
}

/** Attaches our programs to loopback and the syscall tracepoints for an instant: what really works here. */
function attachProbes(): Check[] {
  const out: Check[] = [];
  const lo = ifindexOf('lo');
  const tryAttach = (name: string, need: 'required' | 'optional', fix: string, fn: () => void) => {
    try {
      fn();
      out.push({ name, ok: true, need, detail: 'attached and detached' });
    } catch (err) {
      out.push({ name, ok: false, need, detail: (err as Error).message.split('\n')[0]!, fix });
    }
  };
  tryAttach('attach xdp', 'required', 'a kernel with XDP (generic XDP works on any device)', () => {
    const o = BpfObject.load(objectPath('xdp_counter'));
    try {
      // Another process's doctor (a worker starting at the same time) may hold lo's XDP slot for an
      // instant: EBUSY means "taken", not "unsupported", so wait for it.
      for (let i = 0; ; i++) {
        try {
          o.program('xdp_counter').attachXdp(lo).destroy();
          break;
        } catch (err) {
          if (!(err instanceof LibbpfError && err.errno === 16) || i >= 40) throw err;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
        }
      }
    } finally {
      o.close();
    }
  });
  tryAttach('attach tcx', 'required', 'kernel >= 6.6 for tcx links (older kernels: attach with legacyTc)', () => {
    const o = BpfObject.load(objectPath('fault_injector')); // drop share 0: passes everything
    try {
      o.program('fault_injector').attachTc(lo, 'ingress').destroy();
    } finally {
      o.close();
    }
  });
  tryAttach('attach tp_btf (tracing)', 'required', 'a kernel with BTF-enabled tracepoints (>= 5.5)', () => {
    const o = BpfObject.load(objectPath('kprobe_syscall_latency'), { programs: ['syscall_spill', 'sys_enter_btf', 'sys_exit_btf'] });
    try {
      for (const p of ['sys_enter_btf', 'sys_exit_btf']) o.program(p).attachTrace().destroy();
    } finally {
      o.close();
    }
  });
  tryAttach('attach fentry', 'optional', 'a kernel that accepts BPF trampolines (fentry/fexit); nothing of ours needs them', () => {
    const o = BpfObject.load(objectPath('probe_fentry'));
    try {
      o.program('probe_fentry').attachTrace().destroy();
    } finally {
      o.close();
    }
  });
  return out;
}

/** The failing required checks as one message (for a ConfigError), or undefined when all pass. */
export function refusal(checks: Check[]): string | undefined {
  const bad = checks.filter((c) => !c.ok && c.need === 'required');
  if (bad.length === 0) return undefined;
  return (
    `eBPF is not usable on this machine (X0T_EBPF=off starts the node worker without it):\n` +
    bad.map((c) => `  - ${c.name}: ${c.detail}\n    fix: ${c.fix ?? '-'}`).join('\n')
  );
}

/** Human-readable report, one line per check. */
export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => `${c.ok ? 'ok  ' : c.need === 'required' ? 'FAIL' : 'warn'}  ${c.name.padEnd(26)} ${c.detail}${c.ok || !c.fix ? '' : `\n      → ${c.fix}`}`)
    .join('\n');
}
