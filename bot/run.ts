/**
 * Runs the bot: long polling with @grammyjs/runner (the default), or a webhook server when
 * TELEGRAM_WEBHOOK_URL is configured (Fastify; the secret token header is checked by grammY's
 * webhookCallback, oversized bodies are refused with 413, malformed ones with 400).
 */
import Fastify from 'fastify';
import { run, type RunnerHandle } from '@grammyjs/runner';
import { webhookCallback } from 'grammy';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createLogger, type Logger } from '../common/logger.js';
import { loadTemporalTarget } from '../common/temporal-target.js';
import { scrubbingLogger } from './notifier.js';
import { loadBotConfig, type BotConfig } from './config.js';
import path from 'node:path';
import { dataDir } from '../common/paths.js';
import { loadTariffs } from '../activities/control/payments/tariffs.js';
import { TemporalBackend, type PaymentsBackend } from './backend.js';
import { createBot, type X0tBot } from './bot.js';
import { FileLocalePrefs, type LocalePrefs } from './prefs.js';
import type { TierOffer } from './render.js';

/** The update kinds the bot handles; everything else is not even delivered. */
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export interface RunningBot {
  mode: BotConfig['mode'];
  x0t: X0tBot;
  /** Where the webhook server listens (webhook mode). */
  webhookAddress?: string;
  /** Stops taking updates, lets the ones in progress finish, stops the watchers. */
  stop(): Promise<void>;
}

export interface StartBotOptions {
  config: BotConfig;
  logger: Logger;
  client?: Client;
  backend?: PaymentsBackend;
  prefs?: LocalePrefs;
  tiers?: () => TierOffer[];
  taskQueue?: string;
}

export function tiersFromTariffFile(): TierOffer[] {
  return loadTariffs().tiers.map((t) => ({ id: t.id, days: t.days, price: t.price }));
}

const COMMANDS = {
  en: [
    { command: 'start', description: 'Menu: tariffs, status, free month' },
    { command: 'tariffs', description: 'Buy access' },
    { command: 'status', description: 'Your subscription and open invoices' },
    { command: 'language', description: 'Русский / English' },
  ],
  ru: [
    { command: 'start', description: 'Меню: тарифы, статус, бесплатный месяц' },
    { command: 'tariffs', description: 'Купить доступ' },
    { command: 'status', description: 'Ваша подписка и открытые счета' },
    { command: 'language', description: 'Русский / English' },
  ],
};

export async function startBot(opts: StartBotOptions): Promise<RunningBot> {
  const { config, logger } = opts;
  const backend = opts.backend ?? new TemporalBackend(requireClient(opts.client), opts.taskQueue);
  const x0t = createBot({
    config,
    backend,
    tiers: opts.tiers ?? tiersFromTariffFile,
    prefs: opts.prefs ?? new FileLocalePrefs(path.join(dataDir(), 'bot', 'locales')),
    logger,
  });
  const { bot, watcher } = x0t;
  await bot.init(); // getMe: fails fast on a wrong token (401) before anything else starts
  await bot.api.setMyCommands(COMMANDS.en);
  await bot.api.setMyCommands(COMMANDS.ru, { language_code: 'ru' });

  if (config.mode === 'polling') {
    await bot.api.deleteWebhook(); // long polling is refused while a webhook is set
    const runner: RunnerHandle = run(bot, { runner: { fetch: { allowed_updates: [...ALLOWED_UPDATES] } } });
    logger.info('bot running (long polling)', { username: bot.botInfo.username });
    return {
      mode: 'polling',
      x0t,
      async stop() {
        watcher.stop();
        // Always: isRunning() is false while the source idles, and a poll left open would
        // outlive the bot.
        await runner.stop();
      },
    };
  }

  const hook = config.webhook!;
  const app = Fastify({ bodyLimit: config.maxUpdateBytes, logger: false });
  // An update is a JSON object with an integer update_id; anything else never reaches grammY.
  app.addHook('preHandler', async (req, reply) => {
    const body = req.body as { update_id?: unknown } | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !Number.isSafeInteger(body.update_id)) {
      return reply.code(400).send({ ok: false, description: 'not a Telegram update' });
    }
  });
  app.post(hook.path, webhookCallback(bot, 'fastify', { secretToken: hook.secretToken, onTimeout: 'return', timeoutMilliseconds: 9000 }));
  const address = await app.listen({ host: hook.host, port: hook.port });
  await bot.api.setWebhook(hook.url, { secret_token: hook.secretToken, allowed_updates: [...ALLOWED_UPDATES] });
  logger.info('bot running (webhook)', { username: bot.botInfo.username, listen: address, path: hook.path });
  return {
    mode: 'webhook',
    x0t,
    webhookAddress: address,
    async stop() {
      watcher.stop();
      await app.close();
    },
  };
}

function requireClient(c: Client | undefined): Client {
  if (!c) throw new Error('startBot needs a Temporal client (or a backend)');
  return c;
}

/**
 * The bot process from the environment: Temporal connection, bot config, bot; stops cleanly on
 * SIGINT/SIGTERM. (`bot/main.ts` calls it; kept here so that typechecking reaches it.)
 */
export async function runBotProcess(): Promise<void> {
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
