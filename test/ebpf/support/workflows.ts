/**
 * A test-only workflow (bundled by test/ebpf/node-worker.test.ts, not part of workflows/index.ts)
 * that calls the node's eBPF activities on its task queue, one step after another, so the test drives
 * the real node worker process the way a remediation workflow would.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { EbpfActivities } from '../../../activities/node/ebpf/index.js';

export interface EbpfStep {
  activity: keyof EbpfActivities;
  input?: unknown;
}

export async function ebpfSteps(args: { taskQueue: string; steps: EbpfStep[] }): Promise<unknown[]> {
  const acts = proxyActivities<EbpfActivities>({
    taskQueue: args.taskQueue,
    startToCloseTimeout: '60 seconds',
    heartbeatTimeout: '5 seconds',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput', 'EbpfUnsupported', 'EbpfOff'] },
  });
  const results: unknown[] = [];
  for (const step of args.steps) {
    const fn = acts[step.activity] as (input?: unknown) => Promise<unknown>;
    results.push(await fn(step.input));
  }
  return results;
}
