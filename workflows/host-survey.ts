import { proxyActivities } from '@temporalio/workflow';
import type { HostAssessment, RecordedSnapshot } from '../common/host-snapshot.js';
import { ML_TASK_QUEUE, nodeTaskQueue } from '../common/task-queues.js';
import type { createHostSnapshotActivities } from '../activities/node/host-snapshot.js';
import type { createAssessActivities } from '../activities/ml/assess-host.js';

export interface HostSurveyInput {
  nodeId: string;
  /** How long the node samples its counters to compute rates. */
  sampleMs?: number;
}

export interface HostSurveyResult {
  snapshot: RecordedSnapshot;
  assessment: HostAssessment;
}

/**
 * The first durable path: a snapshot taken on one node's own queue, judged on the ML queue.
 * If the node worker dies mid-sample, the heartbeat timeout notices within seconds and the
 * retry runs on the restarted worker; the snapshot is recorded once under the idempotency key.
 */
export async function hostSurvey(input: HostSurveyInput): Promise<HostSurveyResult> {
  const sampleMs = input.sampleMs ?? 1000;
  const node = proxyActivities<ReturnType<typeof createHostSnapshotActivities>>({
    taskQueue: nodeTaskQueue(input.nodeId),
    // A dead node worker stops heartbeating: retry after 3 s instead of waiting out the whole timeout.
    heartbeatTimeout: '3 seconds',
    startToCloseTimeout: sampleMs + 30_000,
    // No node worker polling at all: give up after a minute rather than wait forever.
    scheduleToCloseTimeout: '2 minutes',
    retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '5 seconds', nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const ml = proxyActivities<ReturnType<typeof createAssessActivities>>({
    taskQueue: ML_TASK_QUEUE,
    startToCloseTimeout: '10 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const snapshot = await node.collectHostSnapshot({ sampleMs });
  const assessment = await ml.assessHostSnapshot(snapshot.snapshot);
  return { snapshot, assessment };
}
