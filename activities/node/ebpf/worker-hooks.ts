/**
 * What the node role adds to its worker for eBPF (wired in workers/roles.ts): a preflight with the
 * doctor's checks, and a background duty that starts the runtime, exposes the exporter's series on
 * the worker's /metrics, and on shutdown detaches and unloads everything of ours.
 */
import type { Registry } from 'prom-client';
import { refusal, runDoctor } from '../../../bpf/doctor.js';
import { registerEbpfMetrics } from '../../../bpf/exporter.js';
import { ConfigError } from '../../../common/errors.js';
import { currentEbpf, ebpfEnabled, startNodeEbpf, stopNodeEbpf, type NodeEbpfDeps } from './runtime.js';

/** Refuses (ConfigError with what is missing and what to do) when eBPF is on but unusable here. */
export async function ebpfPreflight(): Promise<void> {
  let on: boolean;
  try {
    on = ebpfEnabled();
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (!on) return;
  const why = refusal(runDoctor({ attachProbes: true }));
  if (why) throw new ConfigError(why);
}

/** Starts eBPF for the node (when on) and returns the function that stops it. */
export function startEbpfDuties(deps: NodeEbpfDeps, registry: Registry): () => void {
  if (!ebpfEnabled()) return () => {};
  registerEbpfMetrics(registry, currentEbpf);
  try {
    startNodeEbpf(deps);
  } catch (err) {
    stopNodeEbpf();
    throw err;
  }
  return stopNodeEbpf;
}
