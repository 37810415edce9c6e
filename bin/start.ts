/**
 * `npm start`: the whole control plane on one machine. Starts the embedded Temporal dev server
 * (unless TEMPORAL_ADDRESS names one), the control, ml and node workers, prints what runs, and on
 * Ctrl-C/SIGTERM drains the workers before it stops the server.
 */
import { loadDevServerSpec } from '../common/dev-server-spec.js';
import { startDevServer, type DevServer } from '../common/dev-server.js';
import { exitOnError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { loadTemporalTarget } from '../common/temporal-target.js';
import { spawnWorker, waitUntilReady, type WorkerProcess } from '../common/worker-process.js';
import { DEFAULT_HTTP_PORTS, ROLES, type Role } from '../workers/worker-config.js';
import { CONTROL_TASK_QUEUE, ML_TASK_QUEUE, nodeTaskQueue } from '../common/task-queues.js';
import os from 'node:os';
import { botWanted } from '../bot/config.js';
import { spawnBotProcess, type BotProcess } from '../bot/process.js';

const log = createLogger('start');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main() {
  const target = loadTemporalTarget();
  let server: DevServer | undefined;
  const workers = new Map<Role, WorkerProcess>();
  let bot: BotProcess | undefined;
  let stopping = false;

  const stopAll = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${why}: draining workers, then stopping the server`);
    await bot?.stop();
    await Promise.all([...workers.values()].map((w) => w.stop()));
    await server?.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));

  if (target.embedded) {
    const spec = loadDevServerSpec();
    log.info('starting the embedded Temporal dev server', { address: `${spec.ip}:${spec.port}`, db: spec.dbFilename });
    server = await startDevServer(spec);
  }
  const env = { TEMPORAL_ADDRESS: target.address, TEMPORAL_NAMESPACE: target.namespace };
  const nodeId = process.env.X0T_NODE_ID ?? os.hostname();
  const queueOf: Record<Role, string> = { control: CONTROL_TASK_QUEUE, ml: ML_TASK_QUEUE, node: nodeTaskQueue(nodeId) };

  const launch = (role: Role) => {
    const port = Number(process.env[`X0T_${role.toUpperCase()}_HTTP_PORT`] ?? DEFAULT_HTTP_PORTS[role]);
    const w = spawnWorker({ name: role, args: ['--role', role, '--node-id', nodeId], httpPort: port, env });
    workers.set(role, w);
    void w.exited.then(({ code, signal }) => {
      if (stopping) return;
      log.error(`${role} worker exited unexpectedly (code ${code}, signal ${signal}); stopping everything`);
      void stopAll(`${role} worker died`);
    });
    return w;
  };
  for (const role of ROLES) launch(role);
  await Promise.all([...workers.values()].map((w) => waitUntilReady(w, 120_000)));
  // The Telegram bot, when TELEGRAM_BOT_TOKEN is set (bot/main.ts reads it; it is never logged).
  if (botWanted()) {
    bot = spawnBotProcess({ env });
    void bot.exited.then(({ code, signal }) => {
      if (!stopping) void stopAll(`the bot exited unexpectedly (code ${code}, signal ${signal})`);
    });
    // If it fails to start, the exit handler above stops everything; wait for that.
    await bot.ready.catch(() => new Promise<never>(() => {}));
  }

  const rows = [['process', 'pid', 'task queue / address', 'http (metrics, healthz, readyz)']];
  if (server) rows.push(['temporal dev server', String(server.pid), server.address, `log: ${server.logFile}`]);
  else rows.push(['temporal (external)', '-', target.address, '-']);
  for (const [role, w] of workers) rows.push([`${role} worker`, String(w.child.pid), queueOf[role], w.httpUrl]);
  if (bot) rows.push(['telegram bot', String(bot.child.pid), 'Temporal client', process.env.TELEGRAM_WEBHOOK_URL ? 'webhook' : 'long polling']);
  const ui = server?.uiUrl ? `\nTemporal UI: ${server.uiUrl}/namespaces/${target.namespace}/workflows` : '';
  process.stdout.write(`\nx0tta6bl4 is running (namespace ${target.namespace})${ui}\n\n${table(rows)}\n\n` +
    'Operate it with: npm run temporal -- workflow list    (Ctrl-C stops everything)\n\n');
}

main().catch(exitOnError);
