import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { createEbpfActivities } from './ebpf/index.js';
import { createHostSnapshotActivities } from './host-snapshot.js';

export interface NodeActivityDeps {
  nodeId: string;
  dataDir: string;
  logger: Logger;
}

/** Everything a node worker serves on `x0t-node-<nodeId>`. Add a concern's activities here. */
export function createNodeActivities(deps: NodeActivityDeps) {
  return {
    ...createHostSnapshotActivities({ nodeId: deps.nodeId, journalDir: path.join(deps.dataDir, 'nodes', deps.nodeId, 'snapshots') }),
    ...createEbpfActivities({ nodeId: deps.nodeId, dataDir: deps.dataDir, logger: deps.logger.child('ebpf') }),
  };
}
