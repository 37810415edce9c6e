/** Task queues by role: the contract between workflows and the workers that serve them. */
export const CONTROL_TASK_QUEUE = 'x0t-control';
export const ML_TASK_QUEUE = 'x0t-ml';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** True for node ids that are safe in a task queue name, a file name and a metric label. */
export function isValidNodeId(nodeId: string): boolean {
  return NODE_ID.test(nodeId);
}

/** The task queue a node worker polls; activities pinned to that node go there. */
export function nodeTaskQueue(nodeId: string): string {
  if (!isValidNodeId(nodeId)) throw new TypeError(`invalid node id ${JSON.stringify(nodeId)}: use letters, digits, '.', '_' or '-' (at most 63)`);
  return `x0t-node-${nodeId}`;
}

/** Workflow id of the one node registry entity in a namespace. */
export const NODE_REGISTRY_WORKFLOW_ID = 'x0t-node-registry';
