import type { Logger } from '../../common/logger.js';
import { createNodeRosterActivities } from './node-roster.js';
import { createIncidentActivities } from './store-incident.js';
import { createPaymentActivities } from './payments/index.js';
import type { NotificationSender } from './payments/notify.js';

export interface ControlActivityDeps {
  dataDir: string;
  logger: Logger;
  /** Delivers customer notifications (the bot's Telegram send); absent = recorded to dataDir only. */
  sendNotification?: NotificationSender;
}

/** Light activities the control worker serves on `x0t-control` beside the workflows. */
export function createControlActivities(deps: ControlActivityDeps) {
  return {
    ...createNodeRosterActivities(),
    ...createIncidentActivities(deps),
    ...createPaymentActivities(deps),
  };
}
