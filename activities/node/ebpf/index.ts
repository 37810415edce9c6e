import { createAttachActivities } from './attach.js';
import { createPolicyActivities } from './policy.js';
import type { NodeEbpfDeps } from './runtime.js';
import { createTelemetryActivities } from './telemetry.js';

/** The node's eBPF activities (on `x0t-node-<nodeId>`): attach/detach, telemetry, source policies. */
export function createEbpfActivities(deps: NodeEbpfDeps) {
  return {
    ...createAttachActivities(deps),
    ...createTelemetryActivities(deps),
    ...createPolicyActivities(deps),
  };
}

export type EbpfActivities = ReturnType<typeof createEbpfActivities>;
export { ebpfEnabled, startNodeEbpf, stopNodeEbpf, currentEbpf } from './runtime.js';
