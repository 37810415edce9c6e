/**
 * What the bot tests share: the Telegram stand-in, the chain stand-ins (TronGrid/TronScan over a
 * TRC-20 ledger; toncenter/tonapi over @ton/sandbox transactions), a tariff file pointing at them
 * with a fast policy, an in-process worker serving the REAL payment workflows and activities on
 * `x0t-control` of the test's namespace (customer notifications sent through bot/notifier.ts to
 * the stand-in), and the bot itself (in-process, or as a real `bot/main.ts` process).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Blockchain, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { comment, toNano } from '@ton/core';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { stringify } from 'yaml';
import { createPaymentActivities } from '../../../activities/control/payments/index.js';
import { createLogger, type Logger } from '../../../common/logger.js';
import { CONTROL_TASK_QUEUE } from '../../../common/task-queues.js';
import { loadBotConfig } from '../../../bot/config.js';
import { createTelegramSender } from '../../../bot/notifier.js';
import { FileLocalePrefs } from '../../../bot/prefs.js';
import { spawnBotProcess, type BotProcess } from '../../../bot/process.js';
import { startBot, type RunningBot } from '../../../bot/run.js';
import { TelegramApiStandIn, type TgMessage, type TgUser } from '../../standins/telegram-api.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger } from '../../standins/tron.js';
import { startToncenter, startTonapi, TonTxStore } from '../../standins/ton.js';
import type { StandinServer } from '../../standins/http.js';
import type { TestEnv } from '../../support/env.js';

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // installed already in this process
}

/** A realistic-looking token (digits:35 chars); only the stand-in knows it. */
export const TOKEN = `7000000001:AAH${crypto.randomBytes(24).toString('base64url').slice(0, 32)}`;

export interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

/** A logger that keeps lines for assertions (and prints errors when X0T_TEST_VERBOSE is set). */
export function memoryLogger(lines: LogLine[], component = 'bot'): Logger {
  const write = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, fields });
    if (process.env.X0T_TEST_VERBOSE) process.stderr.write(`${level} [${component}] ${msg} ${JSON.stringify(fields ?? {})}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), child: (c) => memoryLogger(lines, `${component}/${c}`) };
}

export interface Harness {
  tg: TelegramApiStandIn;
  client: Client;
  tron: { ledger: TronLedger; merchant: string; pay(amountBaseUnits: string, opts?: { solidified?: boolean }): string };
  ton: { merchant: string; pay(amountTon: string, text: string): Promise<void> };
  tariffsFile: string;
  dataDir: string;
  logs: LogLine[];
  /** Env for a bot process (bot/main.ts) against this harness. */
  botEnv: NodeJS.ProcessEnv;
  startBot(extraEnv?: NodeJS.ProcessEnv): Promise<RunningBot>;
  /** A real bot process (bot/main.ts); `lines` collects its output. */
  spawnBot(extraEnv?: NodeJS.ProcessEnv): Promise<BotProcess & { lines: string[] }>;
  close(): Promise<void>;
}

/** `subscription` overrides the subscription policy (e.g. a reminder lead time longer than a month, so reminders come at once). */
export async function startHarness(env: TestEnv, label: string, opts: { subscription?: Record<string, number> } = {}): Promise<Harness> {
  const dataDir = path.join(process.env.X0T_DATA_DIR!, `bot-${label}-${crypto.randomUUID().slice(0, 8)}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const logs: LogLine[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  const tg = await TelegramApiStandIn.start(TOKEN);
  closers.push(() => tg.close());

  const ledger = new TronLedger();
  const tronMerchant = randomTronAddress();
  const servers: StandinServer[] = [await startTronGrid(ledger), await startTronScan(ledger)];
  const store = new TonTxStore();
  const toncenter = await startToncenter(store);
  const tonapi = await startTonapi(store);
  servers.push(toncenter, tonapi);
  closers.push(() => Promise.all(servers.map((s) => s.close())));
  const bc = await Blockchain.create();
  const tonMerchant: SandboxContract<TreasuryContract> = await bc.treasury('merchant');
  const tonPayer = await bc.treasury('payer');

  const tariffsFile = path.join(dataDir, 'tariffs.yaml');
  fs.writeFileSync(
    tariffsFile,
    stringify({
      tiers: [
        { id: 'month', title: '1 month', days: 30, price: { USDT_TRC20: '10', TON: '2.5' } },
        { id: 'year', title: '12 months', days: 365, price: { USDT_TRC20: '96', TON: '23' } },
      ],
      merchants: {
        USDT_TRC20: { address: tronMerchant, usdtContract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' },
        TON: { address: tonMerchant.address.toString({ bounceable: false }) },
      },
      policy: {
        invoiceTtlSeconds: 600,
        lateWindowSeconds: 30,
        acceptLate: false,
        tolerance: { USDT_TRC20: '0', TON: '0.01' },
        uniqueAmountSlots: 10000,
        poll: { initialSeconds: 0.5, maxSeconds: 1, backoffCoefficient: 1.5, verifyingSeconds: 0.5 },
        subscription: { reminderBeforeSeconds: 3 * 86400, trialDays: 30, referralCreditDays: 30, ...opts.subscription },
      },
      providers: {
        timeoutMs: 1500,
        tron: { trongrid: servers[0]!.url, tronscan: servers[1]!.url },
        ton: { toncenter: toncenter.endpoint, tonapi: tonapi.url },
      },
    }),
  );
  // The bot reads its tiers from the same file (bot/run.ts → loadTariffs()).
  process.env.X0T_TARIFFS_FILE = tariffsFile;

  // The real payment workflows and activities, on the control queue of this test's namespace.
  const workerConnection = await NativeConnection.connect({ address: env.address });
  const prefs = new FileLocalePrefs(path.join(dataDir, 'bot', 'locales'));
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: env.namespace,
    taskQueue: CONTROL_TASK_QUEUE,
    workflowBundle: { codePath: env.workflowBundlePath },
    activities: createPaymentActivities({
      dataDir,
      logger: memoryLogger(logs, 'payments'),
      tariffsFile,
      sendNotification: createTelegramSender({ token: TOKEN, apiRoot: tg.apiRoot, logger: memoryLogger(logs, 'notifier'), prefs }),
    }),
  });
  const running = worker.run();
  closers.push(async () => {
    worker.shutdown();
    await running;
    await workerConnection.close();
  });

  const connection = await Connection.connect({ address: env.address });
  const client = new Client({ connection, namespace: env.namespace });
  closers.push(() => connection.close());

  const botEnv: NodeJS.ProcessEnv = {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: tg.apiRoot,
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: env.namespace,
    X0T_TARIFFS_FILE: tariffsFile,
    X0T_DATA_DIR: dataDir,
    X0T_BOT_WATCH_MS: '300',
    X0T_LOG_LEVEL: 'warn',
  };

  const h: Harness = {
    tg,
    client,
    tariffsFile,
    dataDir,
    logs,
    botEnv,
    tron: {
      ledger,
      merchant: tronMerchant,
      pay(amountBaseUnits, opts = {}) {
        const t = ledger.add({ to: tronMerchant, value: amountBaseUnits, solidified: opts.solidified ?? true });
        return t.txId;
      },
    },
    ton: {
      merchant: tonMerchant.address.toString({ bounceable: false }),
      async pay(amountTon, text) {
        const res = await tonPayer.send({ to: tonMerchant.address, value: toNano(amountTon), body: comment(text), bounce: false });
        store.add(res.transactions);
      },
    },
    async startBot(extraEnv = {}) {
      const config = loadBotConfig({ ...botEnv, ...extraEnv });
      const bot = await startBot({ config, logger: memoryLogger(logs), client, prefs });
      closers.push(() => bot.stop());
      return bot;
    },
    async spawnBot(extraEnv = {}) {
      const lines: string[] = [];
      const p = spawnBotProcess({ env: { ...botEnv, ...extraEnv }, output: (l) => lines.push(l) });
      closers.push(() => p.stop());
      try {
        await p.ready;
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${lines.slice(-20).join('\n')}`);
      }
      return Object.assign(p, { lines });
    },
    async close() {
      for (const c of closers.reverse()) await c().catch((err: unknown) => console.error('harness close:', err));
      // Everything above is closed and no JS handle is left, yet after the payment workflows ran
      // something native keeps this test process alive (not the Temporal runtime: it reports
      // idle). Exit once the runner has had time to report; process.exitCode keeps failures.
      setTimeout(() => process.exit(), 3000).unref();
    },
  };
  return h;
}

let nextUserId = 100_000 + Math.floor(Math.random() * 1_000_000) * 10;
/** A fresh Telegram user (unique id per call). */
export function newUser(first_name: string, language_code = 'en'): TgUser {
  return { id: nextUserId++, is_bot: false, first_name, language_code };
}

/** The text or caption of a message, as Telegram shows it (tags stripped). */
export const body = (m: TgMessage | undefined) => m?.text ?? m?.caption ?? '';

/** Decodes the QR image the bot uploaded with a sendPhoto call. */
export function decodeQr(png: Buffer): string | undefined {
  const img = PNG.sync.read(png);
  // jsqr is CommonJS with a `default` alongside: take whichever is the function.
  const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as typeof jsQRModule.default;
  return jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data;
}

/**
 * Drives a user through /start → Tariffs → tier → currency and returns the invoice message (a
 * photo with the QR) with the QR's text and the currency message (whose buttons opened it).
 */
export async function buyThroughBot(h: Harness, user: TgUser, tier: string, currency: 'USDT_TRC20' | 'TON') {
  const { tg } = h;
  const since = tg.lastSeq;
  tg.sendText(user, '/start');
  const menuCall = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id, { sinceSeq: since, what: 'the /start menu' });
  const menuId = (menuCall.result as TgMessage).message_id;
  let s = tg.lastSeq;
  tg.press(user, tg.current(user.id, menuId)!, '1|tariffs');
  await tg.waitForCall((c) => c.method === 'editMessageText' && Number(c.params.message_id) === menuId, { sinceSeq: s, what: 'the tariffs' });
  s = tg.lastSeq;
  tg.press(user, tg.current(user.id, menuId)!, `1|tier|${tier}`);
  await tg.waitForCall((c) => c.method === 'editMessageText' && Number(c.params.message_id) === menuId, { sinceSeq: s, what: 'the currency choice' });
  const currencyMessage = tg.current(user.id, menuId)!;
  s = tg.lastSeq;
  const cbq = tg.press(user, currencyMessage, `1|currency|${tier}|${currency}`);
  const photo = await tg.waitForCall((c) => c.method === 'sendPhoto' && Number(c.params.chat_id) === user.id, { sinceSeq: s, what: 'the invoice photo' });
  const file = Object.values(photo.files)[0];
  const invoice = photo.result as TgMessage;
  await tg.waitUntil(() => tg.callbackAnswer(cbq), 10_000, 'the currency button answered');
  return { invoice, qr: file ? decodeQr(file.data) : undefined, currencyMessage, menuId };
}

/** The invoice id the bot put in the invoice message. */
export function invoiceIdOf(m: TgMessage): string {
  const id = /x0t-[0-9a-z]+-[0-9a-z]+/.exec(body(m))?.[0];
  if (!id) throw new Error(`no invoice id in ${body(m)}`);
  return id;
}
