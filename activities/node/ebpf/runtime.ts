/**
 * The node process's one eBPF runtime, created on first use (an activity may arrive before the
 * worker's background duties start) and closed on worker shutdown. Configuration from env:
 *   X0T_EBPF=on|off            on (default): the node worker requires eBPF (preflight refuses without it)
 *   X0T_EBPF_HOST_PROGRAMS     host-wide programs attached at start; default "tracepoint_net,kprobe_syscall_latency"; "" for none
 *   X0T_EBPF_INTERFACES        interfaces that get xdp_counter + tc_classifier at start (comma-separated; default none)
 *   X0T_EBPF_RUN_STATS=1|0     keep kernel BPF run-time stats on (default 1; costs ≈ 35–45 ns per program run)
 *   X0T_EBPF_PIN_MAPS=1        pin our maps under /sys/fs/bpf/x0t/<node>/ (needs bpffs)
 */
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { EbpfRuntime, PROGRAMS, type ProgramName } from '../../../bpf/runtime.js';
import type { Logger } from '../../../common/logger.js';

/** Whether this process runs with eBPF (X0T_EBPF, default on). */
export function ebpfEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.X0T_EBPF ?? 'on').toLowerCase();
  if (v === 'off' || v === '0' || v === 'false') return false;
  if (v === 'on' || v === '1' || v === 'true') return true;
  throw new RangeError(`X0T_EBPF must be on or off, got ${JSON.stringify(env.X0T_EBPF)}`);
}

export interface NodeEbpfDeps {
  nodeId: string;
  dataDir: string;
  logger: Logger;
}

let current: { runtime: EbpfRuntime; nodeId: string } | undefined;

/** The runtime, created (and stale state of a crashed predecessor removed) on first call. */
export function nodeEbpf(deps: NodeEbpfDeps): EbpfRuntime {
  if (!ebpfEnabled()) {
    throw ApplicationFailure.create({ type: 'EbpfOff', nonRetryable: true, message: `eBPF is off on node ${deps.nodeId} (X0T_EBPF=off)` });
  }
  if (current) return current.runtime;
  const runtime = new EbpfRuntime({
    stateDir: path.join(deps.dataDir, 'nodes', deps.nodeId, 'ebpf'),
    owner: deps.nodeId,
    pinMaps: process.env.X0T_EBPF_PIN_MAPS === '1',
  });
  const stale = runtime.recoverStale();
  if (stale.pins.length || stale.legacyTc.length) deps.logger.warn('removed eBPF attachments left by a previous run', stale);
  if ((process.env.X0T_EBPF_RUN_STATS ?? '1') !== '0') {
    try {
      runtime.enableRunStats();
    } catch (err) {
      deps.logger.warn('kernel BPF run stats unavailable', { error: (err as Error).message });
    }
  }
  current = { runtime, nodeId: deps.nodeId };
  return runtime;
}

/** The runtime if it exists (for the exporter: no series while eBPF is off or not yet started). */
export function currentEbpf(): EbpfRuntime | undefined {
  return current?.runtime;
}

/** Starts the host-wide programs and the configured interfaces' counters (worker start). */
export function startNodeEbpf(deps: NodeEbpfDeps): EbpfRuntime {
  const rt = nodeEbpf(deps);
  const host = (process.env.X0T_EBPF_HOST_PROGRAMS ?? 'tracepoint_net,kprobe_syscall_latency').split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of host) {
    if (!(PROGRAMS as readonly string[]).includes(p)) throw new RangeError(`X0T_EBPF_HOST_PROGRAMS: unknown program ${p}`);
    rt.attach({ program: p as ProgramName });
  }
  for (const ifname of (process.env.X0T_EBPF_INTERFACES ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    rt.attach({ program: 'xdp_counter', interface: ifname });
    rt.attach({ program: 'tc_classifier', interface: ifname });
  }
  deps.logger.info('eBPF started', { attached: rt.attached() });
  return rt;
}

/** Detaches and unloads everything (worker shutdown). Safe to call when nothing was started. */
export function stopNodeEbpf(): void {
  const c = current;
  current = undefined;
  c?.runtime.close();
}
