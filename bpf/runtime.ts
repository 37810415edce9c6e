/**
 * One node's eBPF state: which objects are loaded, what is attached where, the policy map, the fault
 * injectors, and cumulative counters read from the maps. Attaching is idempotent (same program on the
 * same target twice = one link); close() tears everything down in reverse order so nothing of ours
 * stays attached; `recoverStale` removes what a crashed predecessor may have left (pins and legacy
 * TC filters, the only attachments that outlive a process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { objectPath } from './build.js';
import {
  decodeDevices,
  decodeDrops,
  decodeFault,
  decodeFlows,
  decodePolicies,
  decodePolicyValue,
  decodeSyscallHistograms,
  decodeXdpStats,
  encodeFaultConfig,
  encodePolicyKey,
  encodePolicyValue,
  forgetInterfaceNames,
  type DeviceStat,
  type DropStat,
  type FaultStat,
  type JiffiesToNs,
  type FlowStat,
  type PolicyState,
  type SourcePolicy,
  type SyscallHistogram,
  type XdpStat,
} from './decoders.js';
import { BPF_STATS_RUN_TIME, LibbpfError, libbpf } from './libbpf.js';
import { BpfObject, cleanupPins, detachLegacyTc, ifindexOf, PIN_ROOT, type BpfLink, type TcDirection, type XdpMode } from './loader.js';

export const PROGRAMS = ['xdp_counter', 'tc_classifier', 'kprobe_syscall_latency', 'tracepoint_net', 'fault_injector'] as const;
export type ProgramName = (typeof PROGRAMS)[number];

/** How the syscall latency tracer attaches. tp_btf is the default; kprobe needs CONFIG_KPROBES. */
export const SYSCALL_MODES = ['tp_btf', 'raw_tp', 'tracepoint', 'kprobe'] as const;
export type SyscallMode = (typeof SYSCALL_MODES)[number];
const SYSCALL_MODE_PROGRAMS: Record<SyscallMode, [string, string]> = {
  tp_btf: ['sys_enter_btf', 'sys_exit_btf'],
  raw_tp: ['sys_enter_raw', 'sys_exit_raw'],
  tracepoint: ['sys_enter_tp', 'sys_exit_tp'],
  kprobe: ['sys_enter_kprobe', 'sys_exit_kretprobe'],
};
/** Attached in every mode (moves a switched-out task's syscall start into task storage). */
const SYSCALL_SPILL = 'syscall_spill';

/** What to attach. Interface programs need `interface`; TC ones also `direction` (tc_classifier: both when absent). */
export interface AttachSpec {
  program: ProgramName;
  interface?: string;
  direction?: TcDirection;
  /** kprobe_syscall_latency only. */
  mode?: SyscallMode;
  /** fault_injector only: share of IP packets to drop, 0..100. */
  dropPercent?: number;
  /**
   * xdp_counter: XDP mode, default 'auto' (native where the driver has it). 'generic' keeps veth TCP
   * throughput (native veth XDP converts every GSO skb), but on kernel 6.18 a TC program on the same
   * device then no longer finds the Ethernet header (tc_classifier counts nothing): not for use with it.
   */
  xdpMode?: XdpMode;
  /** Use a legacy netlink TC filter instead of a tcx link (kernels < 6.6). */
  legacyTc?: boolean;
}

export interface AttachResult {
  /** Stable name of the attachment, e.g. "tc_classifier@veth0:ingress". */
  key: string;
  alreadyAttached: boolean;
  /** Kernel ids of the attached programs (to find them in `bpftool prog list`). */
  progIds: number[];
}

/** Cumulative counters at one instant (rates are computed by the caller from two of these). */
export interface CounterReading {
  atMs: number;
  xdp: XdpStat[];
  flows: FlowStat[];
  policies: PolicyState[];
  syscalls: SyscallHistogram[];
  drops: DropStat[];
  devices: DeviceStat[];
  faults: Array<FaultStat & { key: string }>;
  programs: ProgramRunStat[];
}

export interface ProgramRunStat {
  object: string;
  program: string;
  id: number;
  runTimeNs: number;
  runCount: number;
}

interface Attachment {
  key: string;
  objectKey: string;
  links: BpfLink[];
  /** What else makes two attaches of one key differ (syscall tracer mode, legacy TC). */
  variant: string;
}

function variantOf(spec: AttachSpec): string {
  return `${spec.mode ?? 'tp_btf'}/${spec.legacyTc ? 'legacy' : 'tcx'}/${spec.xdpMode ?? 'default'}`;
}

/** State file of legacy TC filters we made (they outlive the process; removed at next start). */
interface LegacyRecord {
  ifname: string;
  direction: TcDirection;
}

export class EbpfRuntime {
  private readonly objects = new Map<string, BpfObject>();
  private readonly attachments = new Map<string, Attachment>();
  private statsFd: number | undefined;

  constructor(
    private readonly opts: {
      /** Folder for our state (legacy TC records); per node. */
      stateDir: string;
      /** Owner name for pins under /sys/fs/bpf/x0t/<owner>. */
      owner: string;
      /** Pin every loaded map under /sys/fs/bpf/x0t/<owner>/<object>/ (for bpftool and other readers). */
      pinMaps?: boolean;
    },
  ) {}

  private get legacyFile(): string {
    return path.join(this.opts.stateDir, 'legacy-tc.json');
  }

  private readLegacy(): LegacyRecord[] {
    try {
      return JSON.parse(fs.readFileSync(this.legacyFile, 'utf8')) as LegacyRecord[];
    } catch {
      return [];
    }
  }

  private writeLegacy(records: LegacyRecord[]): void {
    fs.mkdirSync(this.opts.stateDir, { recursive: true });
    const tmp = `${this.legacyFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(records));
    fs.renameSync(tmp, this.legacyFile);
  }

  /**
   * Crash recovery: removes our pins and the legacy TC filters a previous process of this owner left.
   * (tcx, XDP, tracepoint and trace links die with their process; these two kinds do not.)
   */
  recoverStale(): { pins: string[]; legacyTc: string[] } {
    const pins = cleanupPins(this.opts.owner);
    const legacyTc: string[] = [];
    for (const r of this.readLegacy()) {
      try {
        if (detachLegacyTc(ifindexOf(r.ifname), r.direction)) legacyTc.push(`${r.ifname}:${r.direction}`);
      } catch {
        /* the interface is gone, and its filters with it */
      }
    }
    this.writeLegacy([]);
    return { pins, legacyTc };
  }

  /** Keeps kernel run-time stats on while this runtime lives (costs ≈ 35–45 ns per program run). */
  enableRunStats(): void {
    if (this.statsFd !== undefined) return;
    const fd = libbpf().bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) throw new LibbpfError(`bpf_enable_stats failed (errno ${-fd}): program run time/count stay 0`, -fd);
    this.statsFd = fd;
  }

  private jiffiesToNs: JiffiesToNs = (j) => j;

  /**
   * Pairs the kernel's jiffies with monotonic ns (tc_classifier stamps flows in jiffies, a load, where
   * reading a clock would cost ~15 ns per packet): two samples ~30 ms apart give the tick length.
   */
  private calibrateJiffies(obj: BpfObject): void {
    const clock = obj.program('tc_clock');
    const map = obj.map('tc_clock_sample');
    const sample = () => {
      clock.testRun(Buffer.alloc(64), 1);
      const k = Buffer.alloc(4);
      const j = map.lookup(k)!.readBigUInt64LE(0);
      k.writeUInt32LE(1);
      return { j: Number(j), t: Number(map.lookup(k)!.readBigUInt64LE(0)) };
    };
    const a = sample();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
    const b = sample();
    const measured = b.j > a.j ? (b.t - a.t) / (b.j - a.j) : 4e6;
    // Snap to the tick of a real CONFIG_HZ (100, 250, 300, 1000).
    const tick = [1e7, 4e6, 1e9 / 300, 1e6].reduce((best, x) => (Math.abs(x - measured) < Math.abs(best - measured) ? x : best));
    this.jiffiesToNs = (j) => Math.round(b.t + (j - b.j) * tick);
  }

  private loadObject(objectKey: string, program: ProgramName, programs?: string[]): BpfObject {
    const existing = this.objects.get(objectKey);
    if (existing) return existing;
    const obj = BpfObject.load(objectPath(program), programs ? { programs } : {});
    if (program === 'tc_classifier') this.calibrateJiffies(obj);
    if (this.opts.pinMaps) {
      const dir = path.join(PIN_ROOT, this.opts.owner, objectKey.replace(/[^\w.@:-]/g, '_'));
      for (const m of obj.maps()) if (!m.name.startsWith('.')) m.pin(path.join(dir, m.name));
    }
    this.objects.set(objectKey, obj);
    return obj;
  }

  private closeObject(objectKey: string): void {
    const obj = this.objects.get(objectKey);
    if (!obj) return;
    this.objects.delete(objectKey);
    obj.close();
    if (this.opts.pinMaps) fs.rmSync(path.join(PIN_ROOT, this.opts.owner, objectKey.replace(/[^\w.@:-]/g, '_')), { recursive: true, force: true });
  }

  /** The attachment key for a spec (what makes attach idempotent). */
  static keyOf(spec: AttachSpec): string {
    switch (spec.program) {
      case 'xdp_counter':
        return `xdp_counter@${spec.interface}`;
      case 'tc_classifier':
        return `tc_classifier@${spec.interface}:${spec.direction ?? 'both'}`;
      case 'fault_injector':
        return `fault_injector@${spec.interface}:${spec.direction ?? 'egress'}`;
      case 'kprobe_syscall_latency':
        return 'kprobe_syscall_latency';
      case 'tracepoint_net':
        return 'tracepoint_net';
    }
  }

  attach(spec: AttachSpec): AttachResult {
    const key = EbpfRuntime.keyOf(spec);
    const existing = this.attachments.get(key);
    if (existing && existing.variant === variantOf(spec) && existing.links.every((l) => l.attached)) {
      if (spec.program === 'fault_injector' && spec.dropPercent !== undefined) this.setFaultPercent(key, spec.dropPercent);
      return { key, alreadyAttached: true, progIds: existing.links.map((l) => l.program.info().id) };
    }
    if (existing) this.detachKey(key);
    const needsIf = spec.program === 'xdp_counter' || spec.program === 'tc_classifier' || spec.program === 'fault_injector';
    if (needsIf && !spec.interface) throw new RangeError(`${spec.program} attaches to an interface: give one`);
    const links: BpfLink[] = [];
    let objectKey: string = spec.program;
    try {
      switch (spec.program) {
        case 'xdp_counter': {
          objectKey = key; // one object per interface: its counters are that interface's
          const obj = this.loadObject(objectKey, 'xdp_counter');
          links.push(obj.program('xdp_counter').attachXdp(ifindexOf(spec.interface!), spec.xdpMode ?? 'auto'));
          break;
        }
        case 'tc_classifier': {
          const obj = this.loadObject(objectKey, 'tc_classifier');
          const ifindex = ifindexOf(spec.interface!);
          for (const dir of spec.direction ? [spec.direction] : (['ingress', 'egress'] as const)) {
            links.push(obj.program(`tc_classifier_${dir}`).attachTc(ifindex, dir, { legacy: spec.legacyTc }));
            if (spec.legacyTc) this.writeLegacy([...this.readLegacy(), { ifname: spec.interface!, direction: dir }]);
          }
          break;
        }
        case 'fault_injector': {
          objectKey = key; // one object per link: each has its own drop share
          const obj = this.loadObject(objectKey, 'fault_injector');
          const pct = spec.dropPercent ?? 0;
          if (!(pct >= 0 && pct <= 100)) throw new RangeError(`dropPercent must be within 0..100, got ${pct}`);
          obj.map('fault_config').update(Buffer.alloc(4), encodeFaultConfig(pct));
          const dir = spec.direction ?? 'egress';
          links.push(obj.program('fault_injector').attachTc(ifindexOf(spec.interface!), dir, { legacy: spec.legacyTc }));
          if (spec.legacyTc) this.writeLegacy([...this.readLegacy(), { ifname: spec.interface!, direction: dir }]);
          break;
        }
        case 'kprobe_syscall_latency': {
          const mode = spec.mode ?? 'tp_btf';
          const names = SYSCALL_MODE_PROGRAMS[mode];
          if (!names) throw new RangeError(`unknown syscall tracer mode ${mode} (one of ${SYSCALL_MODES.join(', ')})`);
          const obj = this.loadObject(objectKey, 'kprobe_syscall_latency', [SYSCALL_SPILL, ...names]);
          try {
            links.push(obj.program(SYSCALL_SPILL).attachTrace()); // before enter/exit: no start is ever stranded
            for (const n of names) {
              const p = obj.program(n);
              links.push(mode === 'kprobe' ? p.attachKprobe('x64_sys_call', n.includes('kret')) : p.attachAuto());
            }
          } catch (err) {
            this.closeObject(objectKey);
            throw explainSyscallAttach(mode, err as LibbpfError);
          }
          break;
        }
        case 'tracepoint_net': {
          const obj = this.loadObject(objectKey, 'tracepoint_net');
          for (const p of obj.programs()) links.push(p.attachTrace());
          break;
        }
      }
    } catch (err) {
      for (const l of links.reverse()) l.destroy();
      throw err;
    }
    this.attachments.set(key, { key, objectKey, links, variant: variantOf(spec) });
    return { key, alreadyAttached: false, progIds: links.map((l) => l.program.info().id) };
  }

  /** Detaches what `spec` attached; returns false when nothing was attached (idempotent). */
  detach(spec: AttachSpec): boolean {
    return this.detachKey(EbpfRuntime.keyOf(spec));
  }

  private detachKey(key: string): boolean {
    const a = this.attachments.get(key);
    if (!a) return false;
    this.attachments.delete(key);
    for (const l of [...a.links].reverse()) {
      const t = l.target;
      l.destroy();
      if (t.kind === 'tc' && t.legacy) this.writeLegacy(this.readLegacy().filter((r) => !(r.direction === t.direction && safeIfindex(r.ifname) === t.ifindex)));
    }
    // Objects whose maps belong to one attachment go with it; shared ones (counters, policy) stay loaded.
    if (a.objectKey === key && (a.objectKey.startsWith('fault_injector@') || a.objectKey.startsWith('xdp_counter@'))) this.closeObject(a.objectKey);
    else if (a.objectKey === 'kprobe_syscall_latency') this.closeObject(a.objectKey);
    return true;
  }

  /** Keys of the current attachments. */
  attached(): string[] {
    return [...this.attachments.keys()];
  }

  private setFaultPercent(key: string, pct: number): void {
    if (!(pct >= 0 && pct <= 100)) throw new RangeError(`dropPercent must be within 0..100, got ${pct}`);
    this.objects.get(key)?.map('fault_config').update(Buffer.alloc(4), encodeFaultConfig(pct));
  }

  /**
   * Writes a source policy into tc_classifier's policy map (loading the object if needed; it acts once
   * tc_classifier is attached). Idempotent: the same policy again leaves the kernel's token bucket and
   * counters as they are. Returns whether the map changed.
   */
  setPolicy(p: SourcePolicy): { changed: boolean; policy: PolicyState } {
    if (p.action === 'rate_limit' && !(Number(p.rateBytesPerSec) > 0 && Number(p.burstBytes) > 0)) {
      throw new RangeError('rate_limit needs rateBytesPerSec > 0 and burstBytes > 0');
    }
    const map = this.loadObject('tc_classifier', 'tc_classifier').map('tc_policy');
    const key = encodePolicyKey(p.source);
    const current = map.lookup(key);
    if (current) {
      const cur = decodePolicyValue(p.source, current);
      const same = cur.action === p.action && (p.action === 'drop' || (cur.rateBytesPerSec === Math.round(p.rateBytesPerSec!) && cur.burstBytes === Math.round(p.burstBytes!)));
      if (same) return { changed: false, policy: cur };
    }
    map.update(key, encodePolicyValue(p));
    this.syncPolicyCount();
    return { changed: true, policy: decodePolicyValue(p.source, map.lookup(key)!) };
  }

  /** tc_classifier skips the policy lookup while its config says the map is empty. */
  private syncPolicyCount(): void {
    const obj = this.objects.get('tc_classifier');
    if (!obj) return;
    const cfg = Buffer.alloc(8);
    cfg.writeUInt32LE(obj.map('tc_policy').keys().length, 0);
    obj.map('tc_config').update(Buffer.alloc(4), cfg);
  }

  /** Removes a source policy; returns whether there was one. */
  clearPolicy(source: string): boolean {
    const obj = this.objects.get('tc_classifier');
    if (!obj) return false;
    const existed = obj.map('tc_policy').delete(encodePolicyKey(source));
    this.syncPolicyCount();
    return existed;
  }

  /** Everything the maps hold now, decoded. */
  read(): CounterReading {
    forgetInterfaceNames();
    const r: CounterReading = { atMs: Date.now(), xdp: [], flows: [], policies: [], syscalls: [], drops: [], devices: [], faults: [], programs: [] };
    for (const [key, obj] of this.objects) {
      if (key.startsWith('xdp_counter@')) r.xdp.push(...decodeXdpStats(obj.map('xdp_stats'), key.slice('xdp_counter@'.length)));
      else if (key === 'tc_classifier') {
        r.flows = decodeFlows(obj.map('tc_flows4'), obj.map('tc_flows6'), this.jiffiesToNs);
        r.policies = decodePolicies(obj.map('tc_policy'));
      } else if (key === 'kprobe_syscall_latency') r.syscalls = decodeSyscallHistograms(obj.map('syscall_hist'), obj.map('syscall_sum_ns'));
      else if (key === 'tracepoint_net') {
        r.drops = decodeDrops(obj.map('net_drops'));
        r.devices = decodeDevices(obj.map('net_dev'));
      } else if (key.startsWith('fault_injector@')) r.faults.push({ key, ...decodeFault(obj.map('fault_config'), obj.map('fault_stats')) });
      for (const p of obj.programs()) {
        if (p.fd < 0) continue;
        const info = p.info();
        r.programs.push({ object: key, program: p.name, id: info.id, runTimeNs: Number(info.runTimeNs), runCount: Number(info.runCount) });
      }
    }
    return r;
  }

  /** Kernel ids of every program we have loaded. */
  programIds(): number[] {
    return [...this.objects.values()].flatMap((o) => o.programs().filter((p) => p.fd >= 0).map((p) => p.info().id));
  }

  /** Detaches everything and unloads every object, in reverse order of creation. */
  close(): void {
    for (const key of [...this.attachments.keys()].reverse()) {
      try {
        this.detachKey(key);
      } catch {
        /* keep going: the rest must still be torn down */
      }
    }
    for (const key of [...this.objects.keys()].reverse()) this.closeObject(key);
    if (this.statsFd !== undefined) libbpf().close(this.statsFd);
    this.statsFd = undefined;
  }
}

function safeIfindex(name: string): number {
  try {
    return ifindexOf(name);
  } catch {
    return -1;
  }
}

/** The kprobe mode on a kernel without kprobes says so, and names the mode that works. */
function explainSyscallAttach(mode: SyscallMode, err: LibbpfError): Error {
  if (mode === 'kprobe' && (err.errno === 2 || err.errno === 95)) {
    const e = new LibbpfError(
      `kprobe_syscall_latency: kprobe mode is unavailable: this kernel has no kprobes (CONFIG_KPROBES/KPROBE_EVENTS; ${err.message}). ` +
        `Use the default mode 'tp_btf' (syscall tracepoints), or 'raw_tp'/'tracepoint'.`,
      err.errno,
      err.libbpfLog,
    );
    return e;
  }
  if (mode === 'tracepoint' && err.errno === 2 && !fs.existsSync('/sys/kernel/tracing/events')) {
    return new LibbpfError(
      `kprobe_syscall_latency: tracepoint mode needs tracefs: mount it (mount -t tracefs tracefs /sys/kernel/tracing) or use mode 'tp_btf' (${err.message})`,
      err.errno,
      err.libbpfLog,
    );
  }
  return err;
}
