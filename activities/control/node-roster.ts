import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { NODE_REGISTRY_WORKFLOW_ID } from '../../common/task-queues.js';
import { liveNodesQuery, type LiveNode } from '../../workflows/node-registry.js';

/** Activities on `x0t-control` that read the node registry entity. */
export function createNodeRosterActivities() {
  return {
    /** The nodes whose workers heartbeated within the registry's TTL (empty if none ever did). */
    async listLiveNodes(): Promise<LiveNode[]> {
      const handle = Context.current().client.workflow.getHandle(NODE_REGISTRY_WORKFLOW_ID);
      try {
        return await handle.query(liveNodesQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return [];
        throw err;
      }
    },
  };
}
