/**
 * Builds the eBPF objects: vmlinux.h from the running kernel's BTF (bpftool), then each
 * `bpf/src/*.bpf.c` with clang -target bpf (CO-RE, BTF kept, DWARF stripped) into bpf/build/.
 * Rebuilds only what is older than its sources. Used by `npm run build:bpf` and bin/setup.ts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../common/errors.js';
import { fromRoot } from '../common/paths.js';

export const BPF_SRC_DIR = fromRoot('bpf/src');
/** Where the objects are; X0T_BPF_BUILD_DIR overrides (e.g. objects built on another machine). */
export const BPF_BUILD_DIR = process.env.X0T_BPF_BUILD_DIR ?? fromRoot('bpf/build');
const BTF = '/sys/kernel/btf/vmlinux';

/** The compiled object of one program, e.g. bpf/build/xdp_counter.bpf.o. */
export function objectPath(name: string): string {
  return path.join(BPF_BUILD_DIR, `${name}.bpf.o`);
}

function run(cmd: string, args: string[], opts: { stdoutTo?: string } = {}): void {
  const out = opts.stdoutTo ? fs.openSync(opts.stdoutTo, 'w') : 'inherit';
  try {
    const res = spawnSync(cmd, args, { stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
    if (res.error) throw new ConfigError(`${cmd} is not available (${res.error.message}); install it with \`npm run setup\` as root (Debian: clang llvm bpftool)`);
    if (res.status !== 0) throw new ConfigError(`${cmd} ${args.join(' ')} failed (exit ${res.status}):\n${res.stderr}`);
  } finally {
    if (typeof out === 'number') fs.closeSync(out);
  }
}

function newer(target: string, sources: string[]): boolean {
  if (!fs.existsSync(target)) return false;
  const t = fs.statSync(target).mtimeMs;
  return sources.every((s) => fs.statSync(s).mtimeMs <= t);
}

/** Builds every program; returns the object paths. `force` rebuilds everything. */
export function buildBpf(opts: { force?: boolean; log?: (line: string) => void } = {}): string[] {
  const log = opts.log ?? (() => {});
  if (!fs.existsSync(BTF)) throw new ConfigError(`${BTF} is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is needed for CO-RE)`);
  fs.mkdirSync(BPF_BUILD_DIR, { recursive: true });
  const vmlinux = path.join(BPF_BUILD_DIR, 'vmlinux.h');
  if (opts.force || !newer(vmlinux, [BTF])) {
    log(`generating ${path.relative(process.cwd(), vmlinux)} from ${BTF}`);
    const tmp = `${vmlinux}.${process.pid}.tmp`;
    run('bpftool', ['btf', 'dump', 'file', BTF, 'format', 'c'], { stdoutTo: tmp });
    fs.renameSync(tmp, vmlinux);
  }
  const headers = fs.readdirSync(BPF_SRC_DIR).filter((f) => f.endsWith('.h')).map((f) => path.join(BPF_SRC_DIR, f));
  const built: string[] = [];
  for (const src of fs.readdirSync(BPF_SRC_DIR).filter((f) => f.endsWith('.bpf.c')).sort()) {
    const obj = path.join(BPF_BUILD_DIR, src.replace(/\.c$/, '.o'));
    const input = path.join(BPF_SRC_DIR, src);
    built.push(obj);
    if (!opts.force && newer(obj, [input, vmlinux, ...headers])) continue;
    log(`clang ${src}`);
    const tmp = `${obj}.${process.pid}.tmp`;
    run('clang', ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', BPF_BUILD_DIR, '-I', BPF_SRC_DIR, '-c', input, '-o', tmp]);
    run('llvm-strip', ['-g', tmp]); // drop DWARF, keep .BTF/.BTF.ext (CO-RE needs them)
    fs.renameSync(tmp, obj);
  }
  return built;
}
