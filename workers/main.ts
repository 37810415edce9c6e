/**
 * One worker process of one role: `npm run worker -- --role control|node|ml`.
 * Connect → create → run; drains on SIGINT/SIGTERM and closes everything in reverse order.
 */
import os from 'node:os';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ConfigError, exitOnError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { freePort } from '../common/net.js';
import { dataDir } from '../common/paths.js';
import { loadTemporalTarget } from '../common/temporal-target.js';
import { startHttpServer } from './http-server.js';
import { workerUp } from './metrics.js';
import { roles } from './roles.js';
import { loadWorkerConfig } from './worker-config.js';

async function main() {
  const config = loadWorkerConfig(process.argv.slice(2));
  const target = loadTemporalTarget();
  const role = roles[config.role];
  const logger = createLogger(config.role === 'node' ? `node:${config.nodeId}` : config.role);
  const ctx = { config, dataDir: dataDir(), logger };
  const taskQueue = role.taskQueue(config);

  await role.preflight?.(ctx);

  // Core's Prometheus exporter listens on loopback only; /metrics below re-serves it.
  const sdkMetricsPort = await freePort();
  const sdkLog = logger.child('sdk');
  Runtime.install({
    // The SDK's own warnings go through our logger (same format, same redaction).
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
      if (!role.workflowsPath && message.startsWith('No workflows registered')) return; // by design: only control runs workflows
      (level === 'ERROR' ? sdkLog.error : sdkLog.warn)(message, meta as Record<string, unknown> | undefined);
    }),
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } },
  });

  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(target.connectionOptions);
  } catch (err) {
    throw new ConfigError(
      `cannot reach Temporal at ${target.address} (namespace ${target.namespace}): ${(err as Error).message}\n` +
        (target.embedded ? '  `npm start` starts the embedded dev server; or set TEMPORAL_ADDRESS.' : '  check TEMPORAL_ADDRESS and the TLS settings.'),
    );
  }
  let worker: Worker | undefined;
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let stopBackground: (() => Promise<void>) | undefined;
  try {
    const activities = await role.activities(ctx);
    worker = await Worker.create({
      connection,
      namespace: target.namespace,
      taskQueue,
      activities,
      ...(role.workflowsPath
        ? config.workflowBundlePath
          ? { workflowBundle: { codePath: config.workflowBundlePath } }
          : { workflowsPath: role.workflowsPath }
        : {}),
      identity: `${config.role}@${os.hostname()}/${process.pid}`,
      shutdownGraceTime: '10 seconds',
      ...Object.fromEntries(Object.entries(config.tuning).filter(([, v]) => v !== undefined)),
    });
    const w = worker;
    http = await startHttpServer({
      host: config.httpHost,
      port: config.httpPort,
      sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`,
      probes: { healthy: () => w.getState() !== 'FAILED', ready: () => w.getState() === 'RUNNING' },
      extraRoutes: role.httpRoutes ? (app) => role.httpRoutes!(app, ctx) : undefined,
    });
    const running = worker.run();
    const client = new Client({ connection, namespace: target.namespace });
    stopBackground = await role.background?.({ ...ctx, client, taskQueue });
    workerUp.set({ role: config.role, task_queue: taskQueue }, 1);
    logger.info('worker running', { taskQueue, namespace: target.namespace, temporal: target.address, http: http.url, pid: process.pid });

    let draining = false;
    const shutdown = (why: string) => {
      if (draining) return; // a terminal's Ctrl-C and the supervisor's SIGTERM may both arrive
      draining = true;
      logger.info(`${why}: draining`, { taskQueue });
      w.shutdown();
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    // Under `npm start`, leave with the supervisor even if it was killed outright: no orphans.
    const supervisor = process.env.X0T_SUPERVISOR_PID;
    if (supervisor) setInterval(() => process.ppid !== Number(supervisor) && shutdown('supervisor gone'), 1000).unref();
    await running;
    workerUp.set({ role: config.role, task_queue: taskQueue }, 0);
  } finally {
    await stopBackground?.();
    await http?.app.close();
    await connection.close();
  }
  logger.info('worker stopped');
}

main().catch(exitOnError);
