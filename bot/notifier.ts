/**
 * Telegram delivery of customer notifications: the `NotificationSender` the payment activities
 * call (activities/control/payments/notify.ts makes it exactly-once per idempotency key). It
 * renders the notification in the customer's language (their choice in the bot, else the
 * default) and sends it with grammY's Api; the token comes from env and is never logged.
 */
import path from 'node:path';
import { Api, GrammyError } from 'grammy';
import { autoRetry } from '@grammyjs/auto-retry';
import type { Logger } from '../common/logger.js';
import { dataDir } from '../common/paths.js';
import type { CustomerNotification, NotificationSender } from '../activities/control/payments/notify.js';
import { createI18n, isLocale, type Locale } from './i18n.js';
import { FileLocalePrefs, type LocalePrefs } from './prefs.js';
import { makeT, statusLabel, type T } from './render.js';

/** A logger that replaces the token wherever it appears (e.g. inside a library's error text). */
export function scrubbingLogger(inner: Logger, token: string): Logger {
  const scrub = (v: unknown): unknown =>
    typeof v === 'string' ? v.split(token).join('[redacted]') : v && typeof v === 'object' ? JSON.parse(JSON.stringify(v).split(token).join('[redacted]')) : v;
  const wrap = (fn: (m: string, f?: Record<string, unknown>) => void) => (m: string, f?: Record<string, unknown>) =>
    fn(scrub(m) as string, f ? (scrub(f) as Record<string, unknown>) : undefined);
  return { debug: wrap(inner.debug), info: wrap(inner.info), warn: wrap(inner.warn), error: wrap(inner.error), child: (c) => scrubbingLogger(inner.child(c), token) };
}

const hhmm = (iso: string | undefined) => (iso ?? '').slice(0, 16).replace('T', ' ');

/** The message text for a notification, in `locale` (HTML). */
export function renderNotification(t: T, n: CustomerNotification): string {
  const d = n.data ?? {};
  switch (n.kind) {
    case 'access-key':
      return [t('notify-status', { invoiceId: d.invoiceId ?? '', status: statusLabel(t, 'fulfilled') }), '', t('access-key', { key: d.accessKey ?? '', until: hhmm(d.expiresAt) })].join('\n');
    case 'payment-problem':
      return [t('notify-status', { invoiceId: d.invoiceId ?? '', status: statusLabel(t, d.status ?? 'rejected') }), t('invoice-reason-line', { reason: n.text })].join('\n');
    case 'subscription-reminder':
      return t('notify-reminder', { until: hhmm(d.activeUntil) });
    case 'subscription-expired':
      return t('notify-expired');
    case 'subscription-extended':
      return t('invoice-reason-line', { reason: n.text });
    default:
      return t('invoice-reason-line', { reason: n.text });
  }
}

export interface TelegramNotifierOptions {
  token: string;
  apiRoot?: string;
  logger: Logger;
  prefs?: LocalePrefs;
  defaultLocale?: Locale;
}

/**
 * A sender for the payment activities. A customer who blocked the bot (403) cannot be reached:
 * that is logged and counted as done (retrying cannot help); other failures throw, so the
 * activity's RetryPolicy retries them (429s are waited out here first, per retry_after).
 */
export function createTelegramSender(opts: TelegramNotifierOptions): NotificationSender {
  const api = new Api(opts.token, { apiRoot: opts.apiRoot, sensitiveLogs: false });
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 30 }));
  const prefs = opts.prefs ?? new FileLocalePrefs(path.join(dataDir(), 'bot', 'locales'));
  const defaultLocale = opts.defaultLocale ?? 'en';
  const i18n = createI18n({ defaultLocale, prefs });
  const log = scrubbingLogger(opts.logger, opts.token);
  return async (n) => {
    const chatId = Number(n.customerId);
    if (!Number.isSafeInteger(chatId) || chatId <= 0) throw new TypeError(`customer id ${n.customerId} is not a Telegram user id`);
    const chosen = await prefs.get(chatId);
    const locale = isLocale(chosen) ? chosen : defaultLocale;
    const t = makeT((key, vars) => i18n.t(locale, key, vars));
    try {
      await api.sendMessage(chatId, renderNotification(t, n), { parse_mode: 'HTML' });
    } catch (err) {
      // Blocked, never started, deleted: retrying cannot reach them.
      if (err instanceof GrammyError && (err.error_code === 403 || (err.error_code === 400 && /chat not found|user not found|PEER_ID_INVALID/i.test(err.description)))) {
        log.warn('customer unreachable on Telegram (blocked the bot or never started it)', { customerId: n.customerId, kind: n.kind });
        return;
      }
      throw err;
    }
  };
}

/** The sender when TELEGRAM_BOT_TOKEN is set; undefined otherwise (notifications are then recorded only). */
export function telegramSenderFromEnv(logger: Logger, env: NodeJS.ProcessEnv = process.env): NotificationSender | undefined {
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return undefined;
  const defaultLocale = env.X0T_BOT_DEFAULT_LOCALE === 'ru' ? 'ru' : 'en';
  return createTelegramSender({ token, apiRoot: env.TELEGRAM_API_ROOT || undefined, logger: logger.child('telegram'), defaultLocale });
}
