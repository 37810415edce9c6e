/**
 * The bot's configuration, from the environment only (the token is a secret: it is read here,
 * handed to grammY, and never logged). Problems are ConfigErrors that say what to set.
 */
import { ConfigError } from '../common/errors.js';

export type BotMode = 'polling' | 'webhook';

export interface BotConfig {
  token: string;
  /** Bot API root; a local stand-in in tests (grammY's `client.apiRoot`). */
  apiRoot?: string;
  mode: BotMode;
  webhook?: {
    /** Public HTTPS URL Telegram POSTs updates to (registered with setWebhook at start). */
    url: string;
    /** Sent back by Telegram in X-Telegram-Bot-Api-Secret-Token; requests without it are refused. */
    secretToken: string;
    host: string;
    port: number;
    path: string;
  };
  /** Telegram user ids allowed to run operator commands. */
  adminIds: ReadonlySet<number>;
  /** Per-user rate limit: at most `limit` updates per `windowMs`. */
  rateLimit: { limit: number; windowMs: number };
  /** How often an open invoice's message is refreshed from its workflow. */
  watchIntervalMs: number;
  defaultLocale: string;
  /** Updates larger than this (serialised JSON) are dropped unread. */
  maxUpdateBytes: number;
}

const TOKEN = /^\d{3,20}:[A-Za-z0-9_-]{30,100}$/;
const SECRET = /^[A-Za-z0-9_-]{16,256}$/;

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name}=${raw} must be a positive integer`);
  return n;
}

/** True when the environment asks for the bot at all (TELEGRAM_BOT_TOKEN set). */
export function botWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.TELEGRAM_BOT_TOKEN);
}

/**
 * Reads the bot configuration:
 * TELEGRAM_BOT_TOKEN (required), TELEGRAM_API_ROOT, TELEGRAM_ADMIN_IDS (comma-separated user ids),
 * TELEGRAM_WEBHOOK_URL + TELEGRAM_WEBHOOK_SECRET (webhook mode; long polling otherwise),
 * X0T_BOT_WEBHOOK_LISTEN (host:port, default 127.0.0.1:9467), X0T_BOT_RATE_LIMIT ("N/ms",
 * default 8/3000), X0T_BOT_WATCH_MS (default 5000), X0T_BOT_DEFAULT_LOCALE (en or ru).
 */
export function loadBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const token = env.TELEGRAM_BOT_TOKEN ?? '';
  // The message never contains the value: a mistyped token is still a secret.
  if (!TOKEN.test(token)) throw new ConfigError('TELEGRAM_BOT_TOKEN is missing or not a bot token (digits:secret, as @BotFather gives it)');

  const apiRoot = env.TELEGRAM_API_ROOT || undefined;
  if (apiRoot && !/^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(apiRoot)) throw new ConfigError(`TELEGRAM_API_ROOT=${apiRoot} is not an http(s) URL`);

  const adminIds = new Set<number>();
  for (const part of (env.TELEGRAM_ADMIN_IDS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const id = Number(part);
    if (!/^\d{1,20}$/.test(part) || !Number.isSafeInteger(id)) throw new ConfigError(`TELEGRAM_ADMIN_IDS: "${part}" is not a Telegram user id`);
    adminIds.add(id);
  }

  let webhook: BotConfig['webhook'];
  const url = env.TELEGRAM_WEBHOOK_URL;
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`TELEGRAM_WEBHOOK_URL=${url} is not a URL`);
    }
    if (parsed.protocol !== 'https:' && !apiRoot) throw new ConfigError('TELEGRAM_WEBHOOK_URL must be https:// (Telegram delivers webhooks over HTTPS only)');
    const secretToken = env.TELEGRAM_WEBHOOK_SECRET ?? '';
    if (!SECRET.test(secretToken)) throw new ConfigError('webhook mode needs TELEGRAM_WEBHOOK_SECRET: 16-256 characters of A-Z, a-z, 0-9, _ and -');
    const listen = env.X0T_BOT_WEBHOOK_LISTEN ?? '127.0.0.1:9467';
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
    if (!m || Number(m[2]) > 65535) throw new ConfigError(`X0T_BOT_WEBHOOK_LISTEN=${listen} is not host:port`);
    webhook = { url, secretToken, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), path: parsed.pathname || '/' };
  }

  const rl = env.X0T_BOT_RATE_LIMIT ?? '8/3000';
  const rm = /^(\d+)\/(\d+)$/.exec(rl);
  if (!rm || Number(rm[1]) < 1 || Number(rm[2]) < 1) throw new ConfigError(`X0T_BOT_RATE_LIMIT=${rl} must be N/ms, e.g. 8/3000`);

  const defaultLocale = env.X0T_BOT_DEFAULT_LOCALE ?? 'en';
  if (defaultLocale !== 'en' && defaultLocale !== 'ru') throw new ConfigError(`X0T_BOT_DEFAULT_LOCALE=${defaultLocale}: use en or ru`);

  return {
    token,
    apiRoot,
    mode: webhook ? 'webhook' : 'polling',
    webhook,
    adminIds,
    rateLimit: { limit: Number(rm[1]), windowMs: Number(rm[2]) },
    watchIntervalMs: positiveInt(env, 'X0T_BOT_WATCH_MS', 5000),
    defaultLocale,
    maxUpdateBytes: positiveInt(env, 'X0T_BOT_MAX_UPDATE_BYTES', 64 * 1024),
  };
}
