/**
 * The eBPF object lifecycle over libbpf: open a compiled `.bpf.o`, choose which programs load, load
 * (the kernel's verifier log is in the error when it refuses), attach to XDP / TC (tcx links, or legacy
 * netlink filters detached explicitly) / tracepoint / raw tracepoint / BTF tracepoint / fentry /
 * kprobe, typed map access including per-CPU values, optional pinning under bpffs, and teardown in
 * the reverse order: links first, then the object (which closes programs and maps).
 */
import fs from 'node:fs';
import path from 'node:path';
import koffi from 'koffi';
import {
  BPF_ATTACH_TYPE,
  BPF_MAP_TYPE,
  BPF_TC,
  captureLog,
  checkInt,
  checkPtr,
  describeErrno,
  LibbpfError,
  libbpf,
  type Ptr,
} from './libbpf.js';

/** Where our pins live under bpffs: one folder per owner (e.g. per node), removed on cleanup. */
export const BPFFS = process.env.X0T_BPFFS ?? '/sys/fs/bpf';
export const PIN_ROOT = path.join(BPFFS, 'x0t');

/** A program the kernel refused, with the verifier's own words. */
export class BpfLoadError extends LibbpfError {
  override name = 'BpfLoadError';
  /** The kernel verifier log (the part libbpf printed between BEGIN/END PROG LOAD LOG), if any. */
  readonly verifierLog: string;
  constructor(objectPath: string, errno: number, log: string[]) {
    const joined = log.join('');
    const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(joined);
    const verifierLog = m?.[1]?.trim() ?? '';
    super(
      `loading ${path.basename(objectPath)} failed: ${describeErrno(errno)}` +
        (verifierLog ? `\nverifier log:\n${tail(verifierLog, 60)}` : joined ? `\nlibbpf said:\n${tail(joined.trim(), 30)}` : ''),
      errno,
      log,
    );
    this.verifierLog = verifierLog;
  }
}

function tail(text: string, lines: number): string {
  const all = text.split('\n');
  return all.length <= lines ? text : ['…', ...all.slice(-lines)].join('\n');
}

/** The interface index of `ifname` in this process's network namespace; throws when there is none. */
export function ifindexOf(ifname: string): number {
  const idx = libbpf().if_nametoindex(ifname);
  if (!idx) throw new LibbpfError(`no network interface named ${JSON.stringify(ifname)} in this namespace`, 19);
  return idx;
}

export type TcDirection = 'ingress' | 'egress';
export type XdpMode = 'auto' | 'generic' | 'native';
const XDP_FLAGS_SKB_MODE = 2;
const XDP_FLAGS_DRV_MODE = 4;

/** What a link is attached to: enough to describe it and to make attaching idempotent. */
export type AttachTarget =
  | { kind: 'xdp'; ifindex: number }
  | { kind: 'tc'; ifindex: number; direction: TcDirection; legacy?: boolean }
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'trace' } // tp_btf, fentry, fexit: the target is in the section name
  | { kind: 'kprobe'; func: string; retprobe: boolean };

export function describeTarget(t: AttachTarget): string {
  switch (t.kind) {
    case 'xdp':
      return `xdp@if${t.ifindex}`;
    case 'tc':
      return `tc-${t.direction}${t.legacy ? '-legacy' : ''}@if${t.ifindex}`;
    case 'tracepoint':
      return `tracepoint/${t.category}/${t.name}`;
    case 'raw_tracepoint':
      return `raw_tp/${t.name}`;
    case 'trace':
      return 'trace';
    case 'kprobe':
      return `${t.retprobe ? 'kretprobe' : 'kprobe'}/${t.func}`;
  }
}

/** An attachment: destroy() detaches it (idempotent), unpinning it first when it was pinned. */
export class BpfLink {
  private destroyed = false;
  /** Path under bpffs while pinned. */
  pinPath?: string;
  constructor(
    readonly program: BpfProgram,
    readonly target: AttachTarget,
    private readonly release: () => void,
    private readonly pinFn?: (path: string) => void,
  ) {}

  get attached(): boolean {
    return !this.destroyed;
  }

  /**
   * Pins the link on bpffs so it outlives this process (e.g. across a worker restart). A pinned link
   * stays attached until unpinned: destroy() does that, and `cleanupPins` does it for a crashed owner.
   */
  pin(pinPath: string): void {
    if (!this.pinFn) throw new LibbpfError(`a ${describeTarget(this.target)} attachment cannot be pinned (legacy TC filters persist by themselves)`, 95);
    fs.mkdirSync(path.dirname(pinPath), { recursive: true });
    this.pinFn(pinPath);
    this.pinPath = pinPath;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.pinPath) fs.rmSync(this.pinPath, { force: true });
    this.release();
  }
}

/** Legacy TC filter identity: the priority/handle we always use, so stale ones are recognisable. */
export const LEGACY_TC_PRIORITY = 0x7a0;
export const LEGACY_TC_HANDLE = 0x7a0;

function tcHook(ifindex: number, direction: TcDirection): Buffer {
  const hook = Buffer.alloc(24);
  hook.writeBigUInt64LE(24n, 0);
  hook.writeInt32LE(ifindex, 8);
  hook.writeUInt32LE(direction === 'ingress' ? BPF_TC.INGRESS : BPF_TC.EGRESS, 12);
  return hook;
}

function tcOpts(progFd: number, handle: number, priority: number): Buffer {
  const opts = Buffer.alloc(32);
  opts.writeBigUInt64LE(32n, 0);
  opts.writeInt32LE(progFd, 8);
  opts.writeUInt32LE(handle, 20);
  opts.writeUInt32LE(priority, 24);
  return opts;
}

/**
 * Removes a legacy TC filter of ours (our fixed handle and priority) from a device direction, if any.
 * Returns whether one was there. Used on detach and for crash recovery.
 */
export function detachLegacyTc(ifindex: number, direction: TcDirection): boolean {
  const l = libbpf();
  const hook = tcHook(ifindex, direction);
  const ret = l.bpf_tc_detach(hook, tcOpts(0, LEGACY_TC_HANDLE, LEGACY_TC_PRIORITY));
  if (ret === -2 /* ENOENT */ || ret === -22 /* EINVAL: no clsact qdisc */) return false;
  checkInt(ret, `bpf_tc_detach(if${ifindex} ${direction})`);
  return true;
}

export class BpfProgram {
  constructor(
    readonly object: BpfObject,
    private readonly ptr: Ptr,
  ) {}

  get name(): string {
    return libbpf().bpf_program__name(this.ptr);
  }
  get sectionName(): string {
    return libbpf().bpf_program__section_name(this.ptr);
  }
  /** The kernel program fd once loaded (negative before). */
  get fd(): number {
    return libbpf().bpf_program__fd(this.ptr);
  }
  get progType(): number {
    return libbpf().bpf_program__type(this.ptr);
  }
  get autoload(): boolean {
    return libbpf().bpf_program__autoload(this.ptr);
  }
  /** Only before load: whether this program is loaded at all (attach modes pick one pair). */
  setAutoload(on: boolean): void {
    checkInt(libbpf().bpf_program__set_autoload(this.ptr, on), `bpf_program__set_autoload(${this.name})`);
  }

  /** The kernel's id, run time and run count for this program (run stats need stats enabled). */
  info(): ProgInfo {
    return progInfoByFd(this.fd);
  }

  private requireLoaded(): void {
    if (this.fd < 0) throw new LibbpfError(`program ${this.name} is not loaded (autoload off or object not loaded)`, 9);
  }

  private track(link: BpfLink): BpfLink {
    this.object.links.add(link);
    return link;
  }

  private libbpfLink(ptr: Ptr, target: AttachTarget): BpfLink {
    const link = new BpfLink(
      this,
      target,
      () => {
        libbpf().bpf_link__destroy(ptr);
        this.object.links.delete(link);
      },
      (p) => checkInt(libbpf().bpf_link__pin(ptr, p), `pin link at ${p}`),
    );
    return this.track(link);
  }

  private fdLink(fd: number, target: AttachTarget): BpfLink {
    const link = new BpfLink(
      this,
      target,
      () => {
        libbpf().close(fd);
        this.object.links.delete(link);
      },
      (p) => checkInt(libbpf().bpf_obj_pin(fd, p), `pin link at ${p}`),
    );
    return this.track(link);
  }

  /**
   * XDP on a device. 'auto' lets the kernel pick (native where the driver has it); 'generic' (SKB mode)
   * runs after the skb exists — on veth that keeps GSO packets whole, where native veth XDP converts
   * every skb and TCP across the pair loses most of its throughput; 'native' insists on the driver.
   */
  attachXdp(ifindex: number, mode: XdpMode = 'auto'): BpfLink {
    this.requireLoaded();
    if (mode === 'auto') {
      const ptr = captureLog((log) => checkPtr(libbpf().bpf_program__attach_xdp(this.ptr, ifindex), `attach XDP ${this.name} to if${ifindex}`, log));
      return this.libbpfLink(ptr, { kind: 'xdp', ifindex });
    }
    const opts = Buffer.alloc(64); // struct bpf_link_create_opts: sz, then flags at 8
    opts.writeBigUInt64LE(64n, 0);
    opts.writeUInt32LE(mode === 'generic' ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE, 8);
    const fd = checkInt(libbpf().bpf_link_create(this.fd, ifindex, BPF_ATTACH_TYPE.XDP, opts), `attach XDP (${mode}) ${this.name} to if${ifindex}`);
    return this.fdLink(fd, { kind: 'xdp', ifindex });
  }

  /**
   * TC on a device's ingress or egress. Default: a tcx link (kernel >= 6.6), which goes away with its
   * last fd, so nothing of ours outlives the process. `legacy: true` makes a netlink clsact filter
   * (older kernels) with our fixed handle/priority; it STAYS after exit, so destroy() detaches it and
   * `detachLegacyTc` removes stale ones at start.
   */
  attachTc(ifindex: number, direction: TcDirection, opts: { legacy?: boolean } = {}): BpfLink {
    this.requireLoaded();
    const l = libbpf();
    if (!opts.legacy) {
      const type = direction === 'ingress' ? BPF_ATTACH_TYPE.TCX_INGRESS : BPF_ATTACH_TYPE.TCX_EGRESS;
      const fd = checkInt(l.bpf_link_create(this.fd, ifindex, type, null), `attach TC (tcx ${direction}) ${this.name} to if${ifindex}`);
      return this.fdLink(fd, { kind: 'tc', ifindex, direction });
    }
    const hook = tcHook(ifindex, direction);
    const created = l.bpf_tc_hook_create(hook);
    if (created < 0 && created !== -17 /* EEXIST */) checkInt(created, `bpf_tc_hook_create(if${ifindex})`);
    detachLegacyTc(ifindex, direction);
    checkInt(l.bpf_tc_attach(hook, tcOpts(this.fd, LEGACY_TC_HANDLE, LEGACY_TC_PRIORITY)), `bpf_tc_attach ${this.name} to if${ifindex} ${direction}`);
    const link = new BpfLink(this, { kind: 'tc', ifindex, direction, legacy: true }, () => {
      detachLegacyTc(ifindex, direction);
      // The clsact qdisc is shared with anyone else's filters; remove it only if we created it.
      if (created === 0) {
        const h = tcHook(ifindex, direction);
        h.writeUInt32LE(BPF_TC.INGRESS | BPF_TC.EGRESS, 12);
        l.bpf_tc_hook_destroy(h);
      }
      this.object.links.delete(link);
    });
    return this.track(link);
  }

  /** Classic tracepoint (reads tracefs: /sys/kernel/tracing must be mounted). */
  attachTracepoint(category: string, name: string): BpfLink {
    this.requireLoaded();
    const ptr = captureLog((log) =>
      checkPtr(libbpf().bpf_program__attach_tracepoint(this.ptr, category, name), `attach tracepoint ${category}/${name} (${this.name})`, log),
    );
    return this.libbpfLink(ptr, { kind: 'tracepoint', category, name });
  }

  attachRawTracepoint(name: string): BpfLink {
    this.requireLoaded();
    const ptr = captureLog((log) => checkPtr(libbpf().bpf_program__attach_raw_tracepoint(this.ptr, name), `attach raw_tp ${name} (${this.name})`, log));
    return this.libbpfLink(ptr, { kind: 'raw_tracepoint', name });
  }

  /** tp_btf / fentry / fexit: the target is fixed at load time from the section name. */
  attachTrace(): BpfLink {
    this.requireLoaded();
    const ptr = captureLog((log) => checkPtr(libbpf().bpf_program__attach_trace(this.ptr), `attach ${this.sectionName} (${this.name})`, log));
    return this.libbpfLink(ptr, { kind: 'trace' });
  }

  /** kprobe/kretprobe; on a kernel without CONFIG_KPROBES this fails (ENOENT/EOPNOTSUPP). */
  attachKprobe(func: string, retprobe: boolean): BpfLink {
    this.requireLoaded();
    const ptr = captureLog((log) =>
      checkPtr(libbpf().bpf_program__attach_kprobe(this.ptr, retprobe, func), `attach ${retprobe ? 'kretprobe' : 'kprobe'} ${func} (${this.name})`, log),
    );
    return this.libbpfLink(ptr, { kind: 'kprobe', func, retprobe });
  }

  /** Attach by section name (tracepoint/…, raw_tp/…, tp_btf/…, fentry/…, kprobe/…), as libbpf does. */
  attachAuto(): BpfLink {
    this.requireLoaded();
    const sec = this.sectionName;
    const parts = sec.split('/');
    const ptr = captureLog((log) => checkPtr(libbpf().bpf_program__attach(this.ptr), `attach ${sec} (${this.name})`, log));
    const target: AttachTarget =
      parts[0] === 'tracepoint' || parts[0] === 'tp'
        ? { kind: 'tracepoint', category: parts[1] ?? '', name: parts[2] ?? '' }
        : parts[0] === 'raw_tp' || parts[0] === 'raw_tracepoint'
          ? { kind: 'raw_tracepoint', name: parts[1] ?? '' }
          : parts[0] === 'kprobe' || parts[0] === 'kretprobe'
            ? { kind: 'kprobe', func: parts[1] ?? '', retprobe: parts[0] === 'kretprobe' }
            : { kind: 'trace' };
    return this.libbpfLink(ptr, target);
  }

  /**
   * Runs the program on `data` `repeat` times in the kernel (BPF_PROG_TEST_RUN) and returns the
   * average duration per run in ns as the kernel measured it, and the program's return value.
   */
  testRun(data: Buffer, repeat: number): { nsPerRun: number; retval: number } {
    this.requireLoaded();
    const opts = Buffer.alloc(80);
    opts.writeBigUInt64LE(80n, 0);
    const input = Buffer.from(data);
    opts.writeBigUInt64LE(koffi.address(input), 8);
    opts.writeUInt32LE(input.length, 24);
    opts.writeUInt32LE(repeat, 60);
    checkInt(libbpf().bpf_prog_test_run_opts(this.fd, opts), `bpf_prog_test_run_opts(${this.name})`);
    return { retval: opts.readUInt32LE(56), nsPerRun: opts.readUInt32LE(64) };
  }
}

/** Kernel-side facts about one loaded program. */
export interface ProgInfo {
  id: number;
  name: string;
  type: number;
  /** Cumulative ns spent in the program (only while kernel BPF stats are enabled). */
  runTimeNs: bigint;
  runCount: bigint;
}

/** bpf_prog_info for an fd (struct layout in NOTES-ebpf.md: 232 bytes on x86-64). */
export function progInfoByFd(fd: number): ProgInfo {
  const info = Buffer.alloc(232);
  const len = [info.length];
  checkInt(libbpf().bpf_obj_get_info_by_fd(fd, info, len), 'bpf_obj_get_info_by_fd');
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    name: info.toString('latin1', 64, 80).replace(/\0.*$/s, ''),
    runTimeNs: info.readBigUInt64LE(192),
    runCount: info.readBigUInt64LE(200),
  };
}

/** Every program the kernel has loaded now (id and name), like `bpftool prog list`. */
export function listKernelPrograms(): ProgInfo[] {
  const l = libbpf();
  const out: ProgInfo[] = [];
  const next = [0];
  let id = 0;
  while (l.bpf_prog_get_next_id(id, next) === 0) {
    id = next[0]!;
    const fd = l.bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue; // gone meanwhile
    try {
      out.push(progInfoByFd(fd));
    } finally {
      l.close(fd);
    }
  }
  return out;
}

const PERCPU_TYPES: Set<number> = new Set([BPF_MAP_TYPE.PERCPU_HASH, BPF_MAP_TYPE.PERCPU_ARRAY, BPF_MAP_TYPE.LRU_PERCPU_HASH]);

let possibleCpus: number | undefined;
/** Number of possible CPUs (per-CPU values have one slot per possible CPU, not per online one). */
export function numPossibleCpus(): number {
  possibleCpus ??= checkInt(libbpf().libbpf_num_possible_cpus(), 'libbpf_num_possible_cpus');
  return possibleCpus;
}

/**
 * A map with raw Buffer keys and values. For per-CPU maps a value is an array with one Buffer per
 * possible CPU. Decoding into typed records lives in bpf/decoders.ts.
 */
export class BpfMap {
  constructor(
    readonly object: BpfObject,
    private readonly ptr: Ptr,
  ) {}

  get name(): string {
    return libbpf().bpf_map__name(this.ptr);
  }
  get fd(): number {
    return libbpf().bpf_map__fd(this.ptr);
  }
  get type(): number {
    return libbpf().bpf_map__type(this.ptr);
  }
  get keySize(): number {
    return libbpf().bpf_map__key_size(this.ptr);
  }
  get valueSize(): number {
    return libbpf().bpf_map__value_size(this.ptr);
  }
  get maxEntries(): number {
    return libbpf().bpf_map__max_entries(this.ptr);
  }
  get perCpu(): boolean {
    return PERCPU_TYPES.has(this.type);
  }

  private valueBuffer(): Buffer {
    return Buffer.alloc(this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * numPossibleCpus() : this.valueSize);
  }

  private splitPerCpu(buf: Buffer): Buffer[] {
    const stride = Math.ceil(this.valueSize / 8) * 8;
    return Array.from({ length: numPossibleCpus() }, (_, i) => buf.subarray(i * stride, i * stride + this.valueSize));
  }

  private checkKey(key: Buffer): void {
    if (key.length !== this.keySize) throw new RangeError(`map ${this.name}: key is ${key.length} bytes, expected ${this.keySize}`);
  }

  /** The value (per-CPU maps: one Buffer per possible CPU), or undefined when the key is absent. */
  lookup(key: Buffer): Buffer | undefined {
    this.checkKey(key);
    if (this.perCpu) throw new TypeError(`map ${this.name} is per-CPU: use lookupPerCpu`);
    const v = Buffer.alloc(this.valueSize);
    const ret = libbpf().bpf_map_lookup_elem(this.fd, key, v);
    if (ret === -2) return undefined;
    checkInt(ret, `lookup in ${this.name}`);
    return v;
  }

  lookupPerCpu(key: Buffer): Buffer[] | undefined {
    this.checkKey(key);
    if (!this.perCpu) throw new TypeError(`map ${this.name} is not per-CPU: use lookup`);
    const v = this.valueBuffer();
    const ret = libbpf().bpf_map_lookup_elem(this.fd, key, v);
    if (ret === -2) return undefined;
    checkInt(ret, `lookup in ${this.name}`);
    return this.splitPerCpu(v);
  }

  /** Writes a value (per-CPU maps: a Buffer per possible CPU, or one Buffer copied to every CPU). */
  update(key: Buffer, value: Buffer | Buffer[], flags: bigint = 0n): void {
    this.checkKey(key);
    let v: Buffer;
    if (this.perCpu) {
      const stride = Math.ceil(this.valueSize / 8) * 8;
      v = this.valueBuffer();
      for (let i = 0; i < numPossibleCpus(); i++) {
        const src = Array.isArray(value) ? value[i] : value;
        if (src) src.copy(v, i * stride, 0, this.valueSize);
      }
    } else {
      if (Array.isArray(value)) throw new TypeError(`map ${this.name} is not per-CPU`);
      if (value.length !== this.valueSize) throw new RangeError(`map ${this.name}: value is ${value.length} bytes, expected ${this.valueSize}`);
      v = value;
    }
    checkInt(libbpf().bpf_map_update_elem(this.fd, key, v, flags), `update in ${this.name}`);
  }

  /** Deletes a key; returns whether it was there. */
  delete(key: Buffer): boolean {
    this.checkKey(key);
    const ret = libbpf().bpf_map_delete_elem(this.fd, key);
    if (ret === -2) return false;
    checkInt(ret, `delete in ${this.name}`);
    return true;
  }

  /**
   * An array map's values in one batch syscall (index → value; per-CPU: one Buffer per CPU),
   * instead of one lookup per index. Falls back to per-key lookups where batching is unsupported.
   */
  lookupAllArray(): Buffer[][] {
    const n = this.maxEntries;
    const stride = this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * numPossibleCpus() : this.valueSize;
    const keys = Buffer.alloc(4 * n);
    const values = Buffer.alloc(stride * n);
    const out: Buffer[][] = [];
    const outBatch = Buffer.alloc(4);
    let inBatch: Buffer | null = null;
    let got = 0;
    for (;;) {
      const count = [n - got];
      if (count[0] === 0) break;
      const ret = libbpf().bpf_map_lookup_batch(this.fd, inBatch, outBatch, keys.subarray(got * 4), values.subarray(got * stride), count, null);
      got += count[0]!;
      if (ret === -2) break; // ENOENT: reached the end
      if (ret === -22 || ret === -95) return this.lookupAllArrayOneByOne(); // EINVAL/EOPNOTSUPP: no batch ops
      checkInt(ret, `batch lookup in ${this.name}`);
      inBatch = Buffer.from(outBatch);
    }
    for (let i = 0; i < got; i++) {
      const idx = keys.readUInt32LE(i * 4);
      const v = values.subarray(i * stride, (i + 1) * stride);
      out[idx] = this.perCpu ? this.splitPerCpu(v) : [v];
    }
    return out;
  }

  private lookupAllArrayOneByOne(): Buffer[][] {
    const out: Buffer[][] = [];
    const key = Buffer.alloc(4);
    for (let i = 0; i < this.maxEntries; i++) {
      key.writeUInt32LE(i);
      const v = this.perCpu ? this.lookupPerCpu(key) : this.lookup(key);
      if (v) out[i] = Array.isArray(v) ? v : [v];
    }
    return out;
  }

  /** All keys (hash maps: a consistent walk is not guaranteed while the kernel inserts; fine for stats). */
  keys(): Buffer[] {
    const l = libbpf();
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    for (let guard = 0; guard < this.maxEntries + 1; guard++) {
      const next = Buffer.alloc(this.keySize);
      const ret = l.bpf_map_get_next_key(this.fd, prev, next);
      if (ret === -2) break;
      checkInt(ret, `iterate ${this.name}`);
      out.push(next);
      prev = next;
    }
    return out;
  }

  /** Every entry; per-CPU maps give `values` (one per possible CPU), others `value`. */
  entries(): Array<{ key: Buffer; value: Buffer; values: Buffer[] }> {
    const out: Array<{ key: Buffer; value: Buffer; values: Buffer[] }> = [];
    for (const key of this.keys()) {
      if (this.perCpu) {
        const values = this.lookupPerCpu(key);
        if (values) out.push({ key, value: values[0]!, values });
      } else {
        const value = this.lookup(key);
        if (value) out.push({ key, value, values: [value] });
      }
    }
    return out;
  }

  /** Pins the map at `pinPath` on bpffs (so another process can open it). */
  pin(pinPath: string): void {
    fs.mkdirSync(path.dirname(pinPath), { recursive: true });
    checkInt(libbpf().bpf_map__pin(this.ptr, pinPath), `pin ${this.name} at ${pinPath}`);
  }

  unpin(pinPath: string): void {
    const ret = libbpf().bpf_map__unpin(this.ptr, pinPath);
    if (ret !== -2) checkInt(ret, `unpin ${this.name}`);
  }
}

/**
 * An opened (and then loaded) `.bpf.o`. close() destroys every link made from it, then the object.
 */
export class BpfObject {
  readonly links = new Set<BpfLink>();
  private ptr: Ptr | null;
  private loaded = false;

  private constructor(
    readonly path: string,
    ptr: Ptr,
  ) {
    this.ptr = ptr;
  }

  /** Opens a compiled object (ELF parse, BTF, CO-RE relocations are prepared; nothing in the kernel yet). */
  static open(objectPath: string): BpfObject {
    if (!fs.existsSync(objectPath)) throw new LibbpfError(`BPF object ${objectPath} does not exist: run \`npm run build:bpf\``, 2);
    const ptr = captureLog((log) => checkPtr(libbpf().bpf_object__open_file(objectPath, null), `open ${objectPath}`, log));
    return new BpfObject(objectPath, ptr);
  }

  /** Opens and loads in one step, with only `programs` (by name) loaded when given. */
  static load(objectPath: string, opts: { programs?: string[] } = {}): BpfObject {
    const obj = BpfObject.open(objectPath);
    try {
      if (opts.programs) {
        const wanted = new Set(opts.programs);
        for (const p of obj.programs()) p.setAutoload(wanted.has(p.name));
        for (const name of wanted) obj.program(name); // throws on a typo
      }
      obj.load();
      return obj;
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  private get handle(): Ptr {
    if (this.ptr === null) throw new LibbpfError(`BPF object ${path.basename(this.path)} is closed`, 9);
    return this.ptr;
  }

  get name(): string {
    return libbpf().bpf_object__name(this.handle);
  }

  /** Creates maps, relocates and loads every autoload program into the kernel. */
  load(): void {
    const handle = this.handle;
    captureLog((log) => {
      const ret = libbpf().bpf_object__load(handle);
      if (ret < 0) throw new BpfLoadError(this.path, -ret, log);
    });
    this.loaded = true;
  }

  get isLoaded(): boolean {
    return this.loaded && this.ptr !== null;
  }

  programs(): BpfProgram[] {
    const l = libbpf();
    const out: BpfProgram[] = [];
    for (let p = l.bpf_object__next_program(this.handle, null); p; p = l.bpf_object__next_program(this.handle, p)) out.push(new BpfProgram(this, p));
    return out;
  }

  program(name: string): BpfProgram {
    const p = this.programs().find((x) => x.name === name);
    if (!p) throw new LibbpfError(`${path.basename(this.path)} has no program ${name} (has ${this.programs().map((x) => x.name).join(', ')})`, 2);
    return p;
  }

  maps(): BpfMap[] {
    const l = libbpf();
    const out: BpfMap[] = [];
    for (let m = l.bpf_object__next_map(this.handle, null); m; m = l.bpf_object__next_map(this.handle, m)) out.push(new BpfMap(this, m));
    return out;
  }

  map(name: string): BpfMap {
    const m = this.maps().find((x) => x.name === name);
    if (!m) throw new LibbpfError(`${path.basename(this.path)} has no map ${name}`, 2);
    return m;
  }

  /** Destroys every link made from this object (reverse order), then frees programs and maps. */
  close(): void {
    for (const link of [...this.links].reverse()) {
      try {
        link.destroy();
      } catch {
        /* keep tearing down: a device that vanished took its link with it */
      }
    }
    if (this.ptr !== null) libbpf().bpf_object__close(this.ptr);
    this.ptr = null;
    this.loaded = false;
  }
}

/** Removes every pin under our folder for `owner` (crash recovery: a pinned link detaches when unpinned). */
export function cleanupPins(owner: string): string[] {
  const dir = path.join(PIN_ROOT, owner);
  if (!fs.existsSync(dir)) return [];
  const removed: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        fs.rmSync(p, { force: true });
        removed.push(p);
      }
    }
    fs.rmdirSync(d);
  };
  walk(dir);
  return removed;
}
