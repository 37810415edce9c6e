import { condition, continueAsNew, defineQuery, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';

/** What a node worker says about itself every heartbeat. */
export interface NodeAnnouncement {
  nodeId: string;
  taskQueue: string;
  hostname: string;
  startedAt: string;
}

export interface LiveNode extends NodeAnnouncement {
  lastSeenMs: number;
}

export interface NodeRegistryState {
  nodes: LiveNode[];
  /** A node silent for longer than this is dropped. */
  ttlMs: number;
}

export const nodeHeartbeatSignal = defineSignal<[NodeAnnouncement]>('nodeHeartbeat');
export const nodeLeftSignal = defineSignal<[string]>('nodeLeft');
export const liveNodesQuery = defineQuery<LiveNode[]>('liveNodes');

/**
 * The mesh's roster: node workers signal heartbeats (signalWithStart), nodes that stop
 * answering are dropped after ttlMs, and anyone can query who is live. Runs forever,
 * continuing-as-new before its history grows large.
 */
export async function nodeRegistry(state: NodeRegistryState): Promise<void> {
  const nodes = new Map(state.nodes.map((n) => [n.nodeId, n]));
  let changed = false;
  setHandler(nodeHeartbeatSignal, (a) => {
    nodes.set(a.nodeId, { ...a, lastSeenMs: Date.now() });
    changed = true;
  });
  setHandler(nodeLeftSignal, (nodeId) => {
    nodes.delete(nodeId);
    changed = true;
  });
  setHandler(liveNodesQuery, () => [...nodes.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId)));

  while (!workflowInfo().continueAsNewSuggested && workflowInfo().historyLength < 2000) {
    const oldest = Math.min(...[...nodes.values()].map((n) => n.lastSeenMs));
    const untilExpiry = nodes.size ? Math.max(oldest + state.ttlMs - Date.now(), 1) : undefined;
    changed = false;
    await condition(() => changed, untilExpiry ?? '1 hour');
    const now = Date.now();
    for (const [id, n] of nodes) if (now - n.lastSeenMs > state.ttlMs) nodes.delete(id);
  }
  await continueAsNew<typeof nodeRegistry>({ ...state, nodes: [...nodes.values()] });
}
