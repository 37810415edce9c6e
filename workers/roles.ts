import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Logger } from '../common/logger.js';
import { CONTROL_TASK_QUEUE, ML_TASK_QUEUE, nodeTaskQueue } from '../common/task-queues.js';
import { createControlActivities } from '../activities/control/index.js';
import { telegramSenderFromEnv } from '../bot/notifier.js';
import { createMlActivities } from '../activities/ml/index.js';
import { registerIncidentRoutes } from '../ml/incident-store.js';
import { createNodeActivities } from '../activities/node/index.js';
import { ebpfPreflight, startEbpfDuties } from '../activities/node/ebpf/worker-hooks.js';
import { registry } from './metrics.js';
import type { Role, WorkerConfig } from './worker-config.js';
import { startNodeAnnouncer } from './node-announcer.js';

export interface RoleContext {
  config: WorkerConfig;
  dataDir: string;
  logger: Logger;
}

/** What a role contributes to the one generic worker process. */
export interface RoleDefinition {
  taskQueue(config: WorkerConfig): string;
  /** Registered activities; built once per process (models and BPF objects load here). */
  activities(ctx: RoleContext): Promise<object>;
  /** Path of the workflow modules this role runs (only the control role runs workflows). */
  workflowsPath?: string;
  /** Checks that must pass before the worker starts; throw a ConfigError to refuse. */
  preflight?(ctx: RoleContext): Promise<void>;
  /** Extra HTTP routes on the worker's server (beside /metrics, /healthz, /readyz). */
  httpRoutes?(app: FastifyInstance, ctx: RoleContext): void | Promise<void>;
  /** Background duties while the worker runs; the returned function stops them. */
  background?(ctx: RoleContext & { client: Client; taskQueue: string }): Promise<() => Promise<void>>;
}

export const roles: Record<Role, RoleDefinition> = {
  control: {
    taskQueue: () => CONTROL_TASK_QUEUE,
    // With TELEGRAM_BOT_TOKEN set, customer notifications are sent through Telegram (bot/notifier.ts).
    activities: async (ctx) => createControlActivities({ dataDir: ctx.dataDir, logger: ctx.logger, sendNotification: telegramSenderFromEnv(ctx.logger) }),
    workflowsPath: path.resolve(import.meta.dirname, '../workflows/index.ts'),
    // The incident API: analyses stored by the storeIncident activity, served as JSON and SVG.
    httpRoutes: (app, ctx) => registerIncidentRoutes(app, ctx.dataDir),
  },
  ml: {
    taskQueue: () => ML_TASK_QUEUE,
    activities: (ctx) => createMlActivities({ dataDir: ctx.dataDir, logger: ctx.logger }),
  },
  node: {
    taskQueue: (c) => nodeTaskQueue(c.nodeId),
    activities: async (ctx) => createNodeActivities({ nodeId: ctx.config.nodeId, dataDir: ctx.dataDir, logger: ctx.logger }),
    // eBPF is on unless X0T_EBPF=off: the doctor's checks must pass, else the worker refuses to start.
    preflight: () => ebpfPreflight(),
    async background(ctx) {
      const stopEbpf = startEbpfDuties({ nodeId: ctx.config.nodeId, dataDir: ctx.dataDir, logger: ctx.logger.child('ebpf') }, registry);
      const announcer = startNodeAnnouncer({
        client: ctx.client,
        nodeId: ctx.config.nodeId,
        taskQueue: ctx.taskQueue,
        heartbeatMs: ctx.config.heartbeatMs,
        ttlMs: ctx.config.heartbeatMs * 3,
        logger: ctx.logger,
      });
      await announcer.first.catch((err) => {
        stopEbpf();
        throw err;
      });
      return async () => {
        await announcer.stop();
        stopEbpf(); // detaches every link and unloads our programs: nothing of ours stays attached
      };
    },
  },
};
