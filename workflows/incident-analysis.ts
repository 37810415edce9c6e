import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { CONTROL_TASK_QUEUE, ML_TASK_QUEUE } from '../common/task-queues.js';
import type { AnalysisResult, AnalyzeInput } from '../ml/analyze.js';
import type { createAnalyzeActivities } from '../activities/ml/analyze.js';
import type { createIncidentActivities } from '../activities/control/store-incident.js';

/**
 * Analyze on `x0t-ml` (GraphSAGE scores + causal root cause), then, when something is anomalous,
 * store the incident on `x0t-control`, whose process serves it at the URL the result carries.
 * The incident id is the workflow id unless given, so a retried store finds the same incident.
 */
export async function incidentAnalysis(input: AnalyzeInput): Promise<AnalysisResult> {
  const ml = proxyActivities<Awaited<ReturnType<typeof createAnalyzeActivities>>>({
    taskQueue: ML_TASK_QUEUE,
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const control = proxyActivities<ReturnType<typeof createIncidentActivities>>({
    taskQueue: CONTROL_TASK_QUEUE,
    startToCloseTimeout: '10 seconds',
    retry: { initialInterval: '500 ms', maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const incidentId = input.incidentId ?? workflowInfo().workflowId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128);
  const result = await ml.analyze({ ...input, incidentId });
  if (result.anomalous) await control.storeIncident(result);
  return result;
}
