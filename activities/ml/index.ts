import type { Logger } from '../../common/logger.js';
import { createAssessActivities } from './assess-host.js';
import { createAnalyzeActivities } from './analyze.js';

export interface MlActivityDeps {
  dataDir: string;
  logger: Logger;
}

/** Everything the ML worker serves on `x0t-ml`. Models load once, here, per worker. */
export async function createMlActivities(deps: MlActivityDeps) {
  return {
    ...createAssessActivities(),
    ...(await createAnalyzeActivities({ logger: deps.logger })),
  };
}
