import os from 'node:os';
import type { Client } from '@temporalio/client';
import type { Logger } from '../common/logger.js';
import { CONTROL_TASK_QUEUE, NODE_REGISTRY_WORKFLOW_ID } from '../common/task-queues.js';
import { nodeHeartbeatSignal, nodeLeftSignal, nodeRegistry, type NodeAnnouncement } from '../workflows/node-registry.js';

/**
 * Keeps this node on the registry's roster: a heartbeat signal (signalWithStart, so the
 * registry comes into being with the first node) every heartbeatMs; a farewell on stop.
 * A node that dies without a farewell is dropped by the registry after ttlMs.
 */
export function startNodeAnnouncer(opts: { client: Client; nodeId: string; taskQueue: string; heartbeatMs: number; ttlMs: number; logger: Logger }) {
  const announcement: NodeAnnouncement = {
    nodeId: opts.nodeId,
    taskQueue: opts.taskQueue,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
  };
  let failing = false;
  const beat = async () => {
    try {
      await opts.client.workflow.signalWithStart(nodeRegistry, {
        workflowId: NODE_REGISTRY_WORKFLOW_ID,
        taskQueue: CONTROL_TASK_QUEUE,
        args: [{ nodes: [], ttlMs: opts.ttlMs }],
        signal: nodeHeartbeatSignal,
        signalArgs: [announcement],
      });
      if (failing) opts.logger.info('node heartbeat delivered again');
      failing = false;
    } catch (err) {
      if (!failing) opts.logger.warn('node heartbeat failed; will retry', { error: (err as Error).message });
      failing = true;
    }
  };
  const first = beat();
  const timer = setInterval(beat, opts.heartbeatMs);
  return {
    first,
    async stop() {
      clearInterval(timer);
      await opts.client.workflow
        .getHandle(NODE_REGISTRY_WORKFLOW_ID)
        .signal(nodeLeftSignal, opts.nodeId)
        .catch((err: Error) => opts.logger.warn('could not say goodbye to the node registry', { error: err.message }));
    },
  };
}
