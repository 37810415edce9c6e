import type { Logger } from '../../common/logger.js';
import { createNodeRosterActivities } from './node-roster.js';

export interface ControlActivityDeps {
  dataDir: string;
  logger: Logger;
}

/** Light activities the control worker serves on `x0t-control` beside the workflows. */
export function createControlActivities(_deps: ControlActivityDeps) {
  return {
    ...createNodeRosterActivities(),
  };
}
