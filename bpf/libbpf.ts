/**
 * The raw binding to the system's libbpf.so.1 (Debian bookworm: libbpf 1.1) over koffi.
 * Pointers are BigInt (null for NULL). Int-returning calls give -errno; pointer-returning calls give
 * NULL and set errno (read with `lastErrno()` right after). Nothing here owns resources: bpf/loader.ts does.
 */
import os from 'node:os';
import koffi from 'koffi';

/** A libbpf pointer (struct bpf_object *, bpf_program *, bpf_map *, bpf_link *). */
export type Ptr = bigint;

/** Where the shared library is looked up; X0T_LIBBPF overrides (e.g. a newer libbpf build). */
export const LIBBPF_PATH = process.env.X0T_LIBBPF ?? 'libbpf.so.1';

// bpf_attach_type / bpf_prog_type / bpf_map_type numbers from the kernel UAPI (stable ABI).
export const BPF_PROG_TYPE = {
  SOCKET_FILTER: 1, KPROBE: 2, SCHED_CLS: 3, TRACEPOINT: 5, XDP: 6, RAW_TRACEPOINT: 17, TRACING: 26,
} as const;
export const BPF_MAP_TYPE = {
  HASH: 1, ARRAY: 2, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_HASH: 9, LRU_PERCPU_HASH: 10, TASK_STORAGE: 29, RINGBUF: 27,
} as const;
export const BPF_ATTACH_TYPE = { TRACE_FENTRY: 24, XDP: 37, TCX_INGRESS: 46, TCX_EGRESS: 47 } as const;
export const BPF_STATS_RUN_TIME = 0;
export const BPF_TC = { INGRESS: 1, EGRESS: 2 } as const;
export const BPF_ANY = 0n;
export const BPF_NOEXIST = 1n;

/** libbpf print levels. */
const LIBBPF_WARN = 0;
const LIBBPF_INFO = 1;

let lib: ReturnType<typeof bind> | undefined;
let loadError: Error | undefined;

function bind() {
  const l = koffi.load(LIBBPF_PATH);
  const libc = koffi.load('libc.so.6');
  return {
    // objects
    bpf_object__open_file: l.func('void *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: l.func('int bpf_object__load(void *obj)'),
    bpf_object__close: l.func('void bpf_object__close(void *obj)'),
    bpf_object__name: l.func('const char *bpf_object__name(void *obj)'),
    bpf_object__next_program: l.func('void *bpf_object__next_program(void *obj, void *prog)'),
    bpf_object__next_map: l.func('void *bpf_object__next_map(void *obj, void *map)'),
    // programs
    bpf_program__name: l.func('const char *bpf_program__name(void *prog)'),
    bpf_program__section_name: l.func('const char *bpf_program__section_name(void *prog)'),
    bpf_program__fd: l.func('int bpf_program__fd(void *prog)'),
    bpf_program__type: l.func('int bpf_program__type(void *prog)'),
    bpf_program__set_autoload: l.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    bpf_program__autoload: l.func('bool bpf_program__autoload(void *prog)'),
    bpf_program__attach: l.func('void *bpf_program__attach(void *prog)'),
    bpf_program__attach_xdp: l.func('void *bpf_program__attach_xdp(void *prog, int ifindex)'),
    bpf_program__attach_tracepoint: l.func('void *bpf_program__attach_tracepoint(void *prog, const char *cat, const char *name)'),
    bpf_program__attach_raw_tracepoint: l.func('void *bpf_program__attach_raw_tracepoint(void *prog, const char *name)'),
    bpf_program__attach_trace: l.func('void *bpf_program__attach_trace(void *prog)'),
    bpf_program__attach_kprobe: l.func('void *bpf_program__attach_kprobe(void *prog, bool retprobe, const char *func)'),
    // links
    bpf_link__destroy: l.func('int bpf_link__destroy(void *link)'),
    bpf_link__fd: l.func('int bpf_link__fd(void *link)'),
    bpf_link__pin: l.func('int bpf_link__pin(void *link, const char *path)'),
    bpf_link__unpin: l.func('int bpf_link__unpin(void *link)'),
    bpf_link__open: l.func('void *bpf_link__open(const char *path)'),
    bpf_obj_pin: l.func('int bpf_obj_pin(int fd, const char *path)'),
    bpf_link_create: l.func('int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)'),
    bpf_link_detach: l.func('int bpf_link_detach(int link_fd)'),
    // tc (legacy netlink filters)
    bpf_tc_hook_create: l.func('int bpf_tc_hook_create(void *hook)'),
    bpf_tc_hook_destroy: l.func('int bpf_tc_hook_destroy(void *hook)'),
    bpf_tc_attach: l.func('int bpf_tc_attach(void *hook, void *opts)'),
    bpf_tc_detach: l.func('int bpf_tc_detach(void *hook, void *opts)'),
    bpf_tc_query: l.func('int bpf_tc_query(void *hook, void *opts)'),
    // maps
    bpf_map__name: l.func('const char *bpf_map__name(void *map)'),
    bpf_map__fd: l.func('int bpf_map__fd(void *map)'),
    bpf_map__type: l.func('int bpf_map__type(void *map)'),
    bpf_map__key_size: l.func('uint32_t bpf_map__key_size(void *map)'),
    bpf_map__value_size: l.func('uint32_t bpf_map__value_size(void *map)'),
    bpf_map__max_entries: l.func('uint32_t bpf_map__max_entries(void *map)'),
    bpf_map__set_pin_path: l.func('int bpf_map__set_pin_path(void *map, const char *path)'),
    bpf_map__pin: l.func('int bpf_map__pin(void *map, const char *path)'),
    bpf_map__unpin: l.func('int bpf_map__unpin(void *map, const char *path)'),
    bpf_map_lookup_elem: l.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
    bpf_map_update_elem: l.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
    bpf_map_delete_elem: l.func('int bpf_map_delete_elem(int fd, void *key)'),
    bpf_map_get_next_key: l.func('int bpf_map_get_next_key(int fd, void *key, void *next_key)'),
    bpf_map_lookup_batch: l.func('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, const void *opts)'),
    bpf_map_lookup_elem_flags: l.func('int bpf_map_lookup_elem_flags(int fd, void *key, void *value, uint64_t flags)'),
    // ids, info, stats, test runs
    bpf_prog_get_next_id: l.func('int bpf_prog_get_next_id(uint32_t start_id, _Out_ uint32_t *next_id)'),
    bpf_prog_get_fd_by_id: l.func('int bpf_prog_get_fd_by_id(uint32_t id)'),
    bpf_obj_get_info_by_fd: l.func('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)'),
    bpf_enable_stats: l.func('int bpf_enable_stats(int type)'),
    bpf_prog_test_run_opts: l.func('int bpf_prog_test_run_opts(int prog_fd, void *opts)'),
    // BTF (names of kernel enums, e.g. skb_drop_reason)
    btf__load_vmlinux_btf: l.func('void *btf__load_vmlinux_btf(void)'),
    btf__find_by_name_kind: l.func('int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)'),
    btf__type_by_id: l.func('void *btf__type_by_id(void *btf, uint32_t id)'),
    btf__name_by_offset: l.func('const char *btf__name_by_offset(void *btf, uint32_t offset)'),
    btf__free: l.func('void btf__free(void *btf)'),
    // probes
    libbpf_num_possible_cpus: l.func('int libbpf_num_possible_cpus(void)'),
    libbpf_probe_bpf_prog_type: l.func('int libbpf_probe_bpf_prog_type(int prog_type, const void *opts)'),
    libbpf_probe_bpf_map_type: l.func('int libbpf_probe_bpf_map_type(int map_type, const void *opts)'),
    libbpf_probe_bpf_helper: l.func('int libbpf_probe_bpf_helper(int prog_type, int helper_id, const void *opts)'),
    libbpf_major_version: l.func('uint32_t libbpf_major_version(void)'),
    libbpf_minor_version: l.func('uint32_t libbpf_minor_version(void)'),
    libbpf_set_print: l.func('void *libbpf_set_print(void *fn)'),
    libbpf_strerror: l.func('int libbpf_strerror(int err, _Out_ uint8_t *buf, size_t size)'),
    // libc: close fds we get from bpf_link_create / bpf_prog_get_fd_by_id; format libbpf's messages
    close: libc.func('int close(int fd)'),
    if_nametoindex: libc.func('unsigned int if_nametoindex(const char *name)'),
    if_indextoname: libc.func('void *if_indextoname(unsigned int ifindex, void *ifname)'),
    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *ap)'),
  };
}

/** The binding, loaded on first use; throws an Error naming the library when it cannot be loaded. */
export function libbpf() {
  if (lib) return lib;
  if (loadError) throw loadError;
  try {
    lib = bind();
    installPrintHook(lib);
    return lib;
  } catch (err) {
    loadError = new Error(`cannot load ${LIBBPF_PATH} (${(err as Error).message}); install Debian's libbpf1 (npm run setup as root)`);
    throw loadError;
  }
}

/** errno after a NULL-returning libbpf call. */
export function lastErrno(): number {
  return koffi.errno();
}

/** "ENOENT (No such file or directory)" for an errno (positive or negative). */
export function describeErrno(err: number): string {
  const e = Math.abs(err);
  const name = Object.entries(os.constants.errno).find(([, v]) => v === e)?.[0] ?? `errno ${e}`;
  const buf = Buffer.alloc(256);
  let text = '';
  try {
    if (libbpf().libbpf_strerror(e, buf, buf.length) === 0) text = buf.toString('utf8', 0, buf.indexOf(0));
  } catch {
    /* libbpf itself missing: the name alone will do */
  }
  return text ? `${name} (${text})` : name;
}

/** An errno-carrying failure of one libbpf call. */
export class LibbpfError extends Error {
  override name = 'LibbpfError';
  constructor(
    message: string,
    /** Positive errno. */
    readonly errno: number,
    /** What libbpf printed meanwhile (warnings and the kernel verifier log, if any). */
    readonly libbpfLog: string[] = [],
  ) {
    super(message);
  }
}

// libbpf prints warnings (and the verifier log on a failed load) through one process-wide hook.
// We keep them in a ring so that the next error can carry them; captures are scoped by `captureLog`.
let captures: string[][] = [];
let hookHandle: bigint | undefined;

function installPrintHook(l: ReturnType<typeof bind>) {
  const Print = koffi.proto('int x0t_libbpf_print_fn(int level, const char *fmt, void *args)');
  const buf = Buffer.alloc(64 * 1024);
  hookHandle = koffi.register((level: number, fmt: string, args: bigint) => {
    if (captures.length === 0 && level > LIBBPF_WARN) return 0;
    const n = l.vsnprintf(buf, buf.length, fmt, args);
    const text = buf.toString('utf8', 0, Math.min(Math.max(n, 0), buf.length - 1));
    if (captures.length > 0) {
      for (const c of captures) if (level <= LIBBPF_INFO) c.push(text);
    } else if (process.env.X0T_LIBBPF_DEBUG === '1') {
      process.stderr.write(`libbpf: ${text}`);
    }
    return 0;
  }, koffi.pointer(Print));
  l.libbpf_set_print(hookHandle);
}

/** Runs `fn` while collecting libbpf's messages (warnings and info, which hold the verifier log). */
export function captureLog<T>(fn: (log: string[]) => T): T {
  const log: string[] = [];
  captures.push(log);
  try {
    return fn(log);
  } finally {
    captures = captures.filter((c) => c !== log);
  }
}

/** Throws a LibbpfError when an int-returning call failed (negative return). */
export function checkInt(ret: number, what: string, log: string[] = []): number {
  if (ret < 0) throw new LibbpfError(`${what}: ${describeErrno(ret)}`, -ret, log);
  return ret;
}

/** Throws a LibbpfError when a pointer-returning call gave NULL. */
export function checkPtr(ptr: Ptr | null, what: string, log: string[] = []): Ptr {
  if (ptr === null || ptr === 0n) {
    const e = lastErrno() || 22;
    throw new LibbpfError(`${what}: ${describeErrno(e)}`, e, log);
  }
  return ptr;
}

/** The libbpf version as "major.minor". */
export function libbpfVersion(): string {
  const l = libbpf();
  return `${l.libbpf_major_version()}.${l.libbpf_minor_version()}`;
}
