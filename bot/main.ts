/**
 * `npm run bot`: the Telegram bot as its own process, a Temporal client of the payment workflows.
 * Connects to Temporal the way the workers do (TEMPORAL_ADDRESS etc., else the embedded dev
 * server's address), starts the bot (see bot/run.ts), and stops cleanly on SIGINT/SIGTERM.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { exitOnError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { loadTemporalTarget } from '../common/temporal-target.js';
import { loadBotConfig } from './config.js';
import { startBot } from './run.js';
import { scrubbingLogger } from './notifier.js';

async function main() {
  const config = loadBotConfig();
  const logger = scrubbingLogger(createLogger('bot'), config.token);
  const target = loadTemporalTarget();
  const connection = await NativeConnection.connect(target.connectionOptions);
  const client = new Client({ connection, namespace: target.namespace });
  const running = await startBot({ config, logger, client });
  process.stdout.write(`bot ready (${running.mode}${running.webhookAddress ? ` on ${running.webhookAddress}` : ''})\n`);

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${why}: stopping the bot`);
    try {
      await running.stop();
    } finally {
      await connection.close();
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch(exitOnError);
