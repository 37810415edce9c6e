/**
 * The bot's composition: middleware order, commands, buttons. Every customer-visible fact comes
 * from the payment workflows (through PaymentsBackend); the bot holds no payment state, so any
 * number of restarts, double clicks or stale buttons cannot open, pay or cancel anything twice.
 */
import { Bot, GrammyError, InputFile, type Context } from 'grammy';
import type { I18nFlavor } from '@grammyjs/i18n';
import { limit } from '@grammyjs/ratelimiter';
import { sequentialize } from '@grammyjs/runner';
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import type { Logger } from '../common/logger.js';
import type { InvoiceView } from '../workflows/payments/contract.js';
import { isFinal, type InvoiceActionResult, type PaymentsBackend } from './backend.js';
import { decodeCallback, encodeCallback, invoiceIdFor, INVOICE_ID, type Callback } from './callbacks.js';
import type { BotConfig } from './config.js';
import { createI18n, isLocale, type Locale } from './i18n.js';
import type { LocalePrefs } from './prefs.js';
import { paymentUri, qrPng } from './qr.js';
import {
  currencyKeyboard,
  invoiceCaption,
  invoiceKeyboard,
  mainMenu,
  makeT,
  periodLabel,
  statusLabel,
  statusText,
  tariffsKeyboard,
  type T,
  type TierOffer,
} from './render.js';
import { InvoiceWatcher } from './watcher.js';
import { InlineKeyboard } from 'grammy';

export type BotContext = Context & I18nFlavor;

export interface BotDeps {
  config: BotConfig;
  backend: PaymentsBackend;
  /** The tiers on sale now (the tariff file; re-read on change by its loader). */
  tiers: () => TierOffer[];
  prefs: LocalePrefs;
  logger: Logger;
  /** Clock for countdowns (tests may pin it). */
  now?: () => number;
}

export interface X0tBot {
  bot: Bot<BotContext>;
  watcher: InvoiceWatcher;
}

const REFERRAL = /^ref_([0-9a-z]{1,14})$/;
/** Telegram shows a button's spinner until answered; answer well within its ~15 s patience. */
const ANSWER_WITHIN_MS = 8000;

/** A bot-side error whose text the user may see (already translated). */
class UserFacing extends Error {}

export function createBot(deps: BotDeps): X0tBot {
  const { config, backend, logger } = deps;
  const now = deps.now ?? Date.now;
  const bot = new Bot<BotContext>(config.token, { client: { apiRoot: config.apiRoot, sensitiveLogs: false } });
  // Flood limits: throttle outgoing calls to Telegram's published rates, and when Telegram still
  // answers 429, wait retry_after and retry (bounded, so a stuck request does not hang forever).
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 60 }));
  bot.api.config.use(apiThrottler());

  const i18n = createI18n({ defaultLocale: config.defaultLocale as Locale, prefs: deps.prefs });
  const watcher = new InvoiceWatcher({
    api: bot.api,
    backend,
    intervalMs: config.watchIntervalMs,
    render: (view, locale) => renderInvoice(tFor(locale), view),
    logger: logger.child('watch'),
  });

  const tFor = (locale: string): T => makeT((key, vars) => i18n.t(locale, key, vars));
  const tOf = (ctx: BotContext): T => makeT((key, vars) => ctx.t(key, vars));
  const tierDays = (tierId: string) => deps.tiers().find((t) => t.id === tierId)?.days;
  const renderInvoice = (t: T, view: InvoiceView) => ({ caption: invoiceCaption(t, view, tierDays(view.invoice.tierId), now()), keyboard: invoiceKeyboard(t, view) });

  // 1. Oversized updates are dropped before anything reads them.
  bot.use(async (ctx, next) => {
    const size = Buffer.byteLength(JSON.stringify(ctx.update));
    if (size > config.maxUpdateBytes) {
      logger.warn('dropped an oversized update', { updateId: ctx.update.update_id, bytes: size });
      return;
    }
    await next();
  });
  // 2. One update at a time per user (the runner processes updates concurrently otherwise).
  bot.use(sequentialize((ctx: Context) => (ctx.from ? String(ctx.from.id) : ctx.chat ? `c${ctx.chat.id}` : undefined)));
  // 3. Texts in the user's language.
  bot.use(i18n);
  // 4. Per-user rate limit; the user is told once per window, the excess is not processed.
  bot.use(
    limit<BotContext, never>({
      timeFrame: config.rateLimit.windowMs,
      limit: config.rateLimit.limit,
      keyGenerator: (ctx) => (ctx.from ? String(ctx.from.id) : undefined),
      onLimitExceeded: async (ctx) => {
        logger.info('rate limited', { userId: ctx.from?.id });
        if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('rate-limited') }).catch(() => undefined);
        else if (ctx.chat?.type === 'private') await ctx.reply(ctx.t('rate-limited')).catch(() => undefined);
      },
    }),
  );
  // 5. Payments and keys are private matters: groups get a pointer to the private chat.
  bot.use(async (ctx, next) => {
    if (ctx.chat && ctx.chat.type !== 'private') {
      if (ctx.message?.text?.startsWith('/')) await ctx.reply(ctx.t('private-only'));
      if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: ctx.t('private-only') });
      return;
    }
    await next();
  });

  const localeOf = async (ctx: BotContext): Promise<Locale> => {
    const l = await ctx.i18n.getLocale();
    return isLocale(l) ? l : (config.defaultLocale as Locale);
  };
  const otherLocale = (l: Locale): Locale => (l === 'en' ? 'ru' : 'en');
  const customerId = (ctx: BotContext) => String(ctx.from!.id);

  /** Edits the message a button belongs to; when it cannot be edited, sends a new one. */
  const show = async (ctx: BotContext, text: string, keyboard?: InlineKeyboard) => {
    const msg = ctx.callbackQuery?.message;
    if (msg && 'text' in msg && msg.text !== undefined) {
      try {
        await ctx.editMessageText(text, { parse_mode: 'HTML', reply_markup: keyboard });
        return;
      } catch (err) {
        if (isNotModified(err)) return;
        if (!(err instanceof GrammyError && err.error_code === 400)) throw err;
      }
    }
    await ctx.reply(text, { parse_mode: 'HTML', reply_markup: keyboard });
  };

  const sendMenu = async (ctx: BotContext, prefix?: string) => {
    const t = tOf(ctx);
    const text = [prefix, t('welcome')].filter(Boolean).join('\n\n');
    await show(ctx, text, mainMenu(t, otherLocale(await localeOf(ctx))));
  };

  const showTariffs = async (ctx: BotContext, prefix?: string) => {
    const t = tOf(ctx);
    await show(ctx, [prefix, t('tariffs-title')].filter(Boolean).join('\n\n'), tariffsKeyboard(t, deps.tiers()));
  };

  const showStatus = async (ctx: BotContext) => {
    const id = customerId(ctx);
    const [sub, open] = await Promise.all([backend.subscription(id), backend.openInvoices(id)]);
    const { text, keyboard } = statusText(tOf(ctx), sub, open, tierDays, now());
    await show(ctx, text, keyboard);
  };

  /** Sends the invoice as a photo (QR) with its caption and buttons, and keeps it current. */
  const sendInvoice = async (ctx: BotContext, view: InvoiceView) => {
    const t = tOf(ctx);
    const { caption, keyboard } = renderInvoice(t, view);
    const png = await qrPng(paymentUri(view.invoice));
    const sent = await ctx.replyWithPhoto(new InputFile(png, `${view.invoice.invoiceId}.png`), { caption, parse_mode: 'HTML', reply_markup: keyboard });
    if (!isFinal(view.status)) watcher.watch({ chatId: sent.chat.id, messageId: sent.message_id, invoiceId: view.invoice.invoiceId, locale: await localeOf(ctx), last: caption });
  };

  /** Re-renders the invoice message a button belongs to from the workflow's view. */
  const refreshInvoiceMessage = async (ctx: BotContext, view: InvoiceView) => {
    const msg = ctx.callbackQuery?.message;
    if (!msg) return;
    const { caption, keyboard } = renderInvoice(tOf(ctx), view);
    try {
      if ('photo' in msg && msg.photo) await ctx.editMessageCaption({ caption, parse_mode: 'HTML', reply_markup: keyboard });
      else await ctx.editMessageText(caption, { parse_mode: 'HTML', reply_markup: keyboard });
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  };

  // ---- commands ------------------------------------------------------------------------------

  bot.command('start', async (ctx) => {
    const payload = ctx.match.trim();
    const ref = REFERRAL.exec(payload);
    let prefix: string | undefined;
    if (ref) {
      const referrerId = parseInt(ref[1]!, 36);
      if (Number.isSafeInteger(referrerId) && referrerId > 0) {
        const res = await backend.setReferrer(customerId(ctx), String(referrerId));
        // The credit arrives later as a signal to the referrer's entity: make sure it exists.
        if (res.accepted) await backend.ensureSubscription(String(referrerId));
        prefix = res.accepted ? ctx.t('welcome-referred') : tOf(ctx)('welcome-referral-refused', { reason: res.reason ?? '' });
      }
    }
    await sendMenu(ctx, prefix);
  });
  bot.command(['tariffs', 'buy'], (ctx) => showTariffs(ctx));
  bot.command('status', (ctx) => showStatus(ctx));
  bot.command(['language', 'lang'], async (ctx) => {
    const next = otherLocale(await localeOf(ctx));
    await deps.prefs.set(ctx.from!.id, next);
    ctx.i18n.useLocale(next);
    await ctx.reply(ctx.t('language-set'));
  });
  bot.command('help', (ctx) => sendMenu(ctx));

  // ---- operator commands ------------------------------------------------------------------

  const isAdmin = (ctx: BotContext) => ctx.from !== undefined && config.adminIds.has(ctx.from.id);
  const admin = (name: string | string[], run: (ctx: BotContext & { match: string }, t: T) => Promise<void>) =>
    bot.command(name, async (ctx) => {
      if (!isAdmin(ctx)) {
        logger.info('operator command refused', { userId: ctx.from?.id, command: ctx.message?.text?.split(/\s/)[0] });
        await ctx.reply(ctx.t('admin-refused'));
        return;
      }
      await run(ctx as BotContext & { match: string }, tOf(ctx));
    });

  admin('admin', async (ctx, t) => void (await ctx.reply(t('admin-usage'), { parse_mode: 'HTML' })));

  admin('invoice', async (ctx, t) => {
    const id = ctx.match.trim();
    if (!INVOICE_ID.test(id)) return void (await ctx.reply(t('admin-usage'), { parse_mode: 'HTML' }));
    const view = await backend.getInvoice(id);
    if (!view) return void (await ctx.reply(t('invoice-not-found')));
    await ctx.reply(adminInvoiceText(t, view), { parse_mode: 'HTML' });
  });

  admin('health', async (ctx, t) => {
    const h = await backend.meshHealth();
    const lines = [t('health-title'), ''];
    if (h.liveNodes === 'not-available') lines.push(t('health-nodes-unavailable'));
    else {
      lines.push(t('health-nodes', { count: h.liveNodes.length }));
      for (const n of h.liveNodes) lines.push(t('health-node-line', { nodeId: n.nodeId, ago: Math.max(0, Math.round((now() - n.lastSeenMs) / 1000)) }));
    }
    lines.push(h.healing === 'not-available' ? t('health-healing-unavailable') : h.healing.summary);
    await ctx.reply(lines.join('\n'), { parse_mode: 'HTML' });
  });

  for (const command of ['confirm', 'refund'] as const) {
    admin(command, async (ctx, t) => {
      const [id, ...words] = ctx.match.trim().split(/\s+/);
      const reason = words.join(' ').trim();
      if (!id || !INVOICE_ID.test(id)) return void (await ctx.reply(t('admin-usage'), { parse_mode: 'HTML' }));
      if (reason.length < 3) return void (await ctx.reply(t('admin-reason-required', { command }), { parse_mode: 'HTML' }));
      const operator = `telegram:${ctx.from!.id}`;
      const res = command === 'confirm' ? await backend.adminConfirm(id, operator, reason.slice(0, 500)) : await backend.adminRefund(id, operator, reason.slice(0, 500));
      logger.info(`operator ${command}`, { operator, invoiceId: id, ok: res.ok });
      await ctx.reply(adminResultText(t, id, res), { parse_mode: 'HTML' });
    });
  }

  // ---- buttons -------------------------------------------------------------------------------

  bot.on('callback_query:data', async (ctx) => {
    const cb = decodeCallback(ctx.callbackQuery.data);
    if (!cb) {
      // A button from an older bot, or forged data: say so and take the dead buttons away.
      await ctx.answerCallbackQuery({ text: ctx.t('stale-button'), show_alert: true });
      if (ctx.callbackQuery.message) await ctx.editMessageReplyMarkup({ reply_markup: undefined }).catch(() => undefined);
      return;
    }
    try {
      const note = await onButton(ctx, cb);
      await ctx.answerCallbackQuery(note ? { text: note.slice(0, 200) } : undefined);
    } catch (err) {
      await ctx.answerCallbackQuery({ text: err instanceof UserFacing ? err.message : ctx.t('error-generic') }).catch(() => undefined);
      if (!(err instanceof UserFacing)) throw err;
    }
  });
  // Buttons without data (games) and anything else: nothing to do, but stop the spinner.
  bot.on('callback_query', (ctx) => ctx.answerCallbackQuery());

  /** Handles one button; returns the short note shown to the user (answerCallbackQuery). */
  async function onButton(ctx: BotContext, cb: Callback): Promise<string | undefined> {
    const t = tOf(ctx);
    switch (cb.action) {
      case 'menu':
        await sendMenu(ctx);
        return undefined;
      case 'tariffs':
        await showTariffs(ctx);
        return undefined;
      case 'status':
        await showStatus(ctx);
        return undefined;
      case 'lang': {
        if (!isLocale(cb.locale)) return t('stale-button');
        await deps.prefs.set(ctx.from!.id, cb.locale);
        ctx.i18n.useLocale(cb.locale);
        await sendMenu(ctx);
        return ctx.t('language-set');
      }
      case 'trial': {
        const res = await backend.requestTrial(customerId(ctx));
        const text = res.granted ? t('trial-granted', { until: (res.view.activeUntil ?? '').slice(0, 16).replace('T', ' ') }) : t('trial-refused', { reason: res.reason ?? '' });
        await ctx.reply(text, { parse_mode: 'HTML' });
        return undefined;
      }
      case 'referral': {
        await backend.ensureSubscription(customerId(ctx));
        const link = ctx.me.username ? `https://t.me/${ctx.me.username}?start=ref_${ctx.from!.id.toString(36)}` : t('referral-no-username');
        await ctx.reply(t('referral-text', { link }), { parse_mode: 'HTML' });
        return undefined;
      }
      case 'tier': {
        const tier = deps.tiers().find((x) => x.id === cb.tierId);
        if (!tier) {
          await showTariffs(ctx, t('tier-unknown'));
          return undefined;
        }
        await show(ctx, t('choose-currency', { period: periodLabel(t, tier.days) }), currencyKeyboard(t, tier.id));
        return undefined;
      }
      case 'currency':
        return buy(ctx, t, cb.tierId, cb.currency);
      case 'show': {
        const view = await ownInvoice(ctx, cb.invoiceId);
        await sendInvoice(ctx, view);
        return undefined;
      }
      case 'refresh': {
        const view = await ownInvoice(ctx, cb.invoiceId);
        await refreshInvoiceMessage(ctx, view);
        return t('refreshed');
      }
      case 'paid':
      case 'cancel': {
        const view = await ownInvoice(ctx, cb.invoiceId);
        if (isFinal(view.status)) {
          // A stale "I paid"/"Cancel": nothing changes; the message catches up with the truth.
          await refreshInvoiceMessage(ctx, view);
          return t('paid-already-final', { status: statusLabel(t, view.status) });
        }
        const msg = ctx.callbackQuery?.message;
        if (msg && 'photo' in msg && msg.photo) {
          // Whatever the check finds shows up in the message, even after this answer was given.
          watcher.watch({ chatId: msg.chat.id, messageId: msg.message_id, invoiceId: cb.invoiceId, locale: await localeOf(ctx), last: msg.caption ?? '' });
        }
        const action = cb.action === 'paid' ? backend.iPaid(cb.invoiceId) : backend.cancel(cb.invoiceId);
        // A chain check can take long (providers failing over); Telegram wants an answer soon.
        const res = await Promise.race([action, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ANSWER_WITHIN_MS).unref())]);
        if (res === 'pending') {
          action.catch((err: unknown) => logger.warn('invoice action failed after the answer', { invoiceId: cb.invoiceId, error: String(err) }));
          return t('paid-checking');
        }
        const after = res.ok || res.why === 'closed' ? res.view : res.why === 'refused' ? res.view : undefined;
        if (after) await refreshInvoiceMessage(ctx, after);
        if (res.ok) return cb.action === 'paid' ? t('paid-checked', { status: statusLabel(t, res.view.status) }) : t('cancelled-ok');
        if (res.why === 'not-found') return t('invoice-not-found');
        if (res.why === 'closed') return t('paid-already-final', { status: statusLabel(t, res.view.status) });
        return cb.action === 'cancel' && after ? t('cancel-refused', { status: statusLabel(t, after.status) }) : t('action-refused', { reason: res.message });
      }
    }
  }

  /** The invoice, only if it is the caller's: another customer's invoice is "not found". */
  async function ownInvoice(ctx: BotContext, invoiceId: string): Promise<InvoiceView> {
    const view = await backend.getInvoice(invoiceId);
    if (!view || view.invoice.customerId !== customerId(ctx)) throw new UserFacing(ctx.t('invoice-not-found'));
    return view;
  }

  async function buy(ctx: BotContext, t: T, tierId: string, currency: 'USDT_TRC20' | 'TON'): Promise<string | undefined> {
    const tier = deps.tiers().find((x) => x.id === tierId);
    const msg = ctx.callbackQuery?.message;
    if (!tier || !msg) {
      await showTariffs(ctx, t('tier-unknown'));
      return undefined;
    }
    const invoiceId = invoiceIdFor(ctx.from!.id, msg.chat.id, msg.message_id);
    const createdKb = new InlineKeyboard().text(t('btn-show-invoice', { invoiceId }), encodeCallback({ action: 'show', invoiceId }));
    const { created, view } = await backend.createInvoice({ invoiceId, customerId: customerId(ctx), tierId: tier.id, currency });
    if (!created) {
      // The same message already opened this invoice (a double click, a stale copy, or a click
      // before a restart): no second invoice; point at the existing one.
      await show(ctx, t('invoice-already-created'), view && view.invoice.customerId === customerId(ctx) ? createdKb : undefined);
      return t('invoice-already-created');
    }
    if (!view) throw new UserFacing(t('error-generic'));
    await sendInvoice(ctx, view);
    await show(ctx, t('invoice-created-below', { invoiceId }), createdKb);
    return undefined;
  }

  // Unknown commands get a hint; other text is ignored politely with the menu.
  bot.on('message:text', async (ctx) => {
    if (ctx.message.text.startsWith('/')) await ctx.reply(ctx.t('unknown-command'));
    else await sendMenu(ctx);
  });

  bot.catch((err) => {
    // Logged, never rethrown: one bad update must not stop the bot. No payloads in the log.
    const e = err.error;
    logger.error('update failed', {
      updateId: err.ctx?.update?.update_id,
      error: e instanceof GrammyError ? `${e.method}: ${e.error_code} ${e.description}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    });
  });

  return { bot, watcher };
}

function isNotModified(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 400 && /message is not modified/.test(err.description);
}

function adminInvoiceText(t: T, v: InvoiceView): string {
  const inv = v.invoice;
  const lines = [
    t('admin-invoice', {
      invoiceId: inv.invoiceId,
      customerId: inv.customerId,
      tier: inv.tierId,
      amount: inv.amountDisplay,
      currency: inv.currency,
      address: inv.merchantAddress,
      created: inv.createdAt,
      expires: inv.expiresAt,
      status: v.status,
      reason: v.reason ? ` (${v.reason})` : '',
      tx: v.txHash ?? '-',
    }),
  ];
  for (const a of v.audit) lines.push(t('admin-audit-line', { at: a.at, actor: a.actor, action: a.action, reason: a.reason }));
  return lines.join('\n');
}

function adminResultText(t: T, invoiceId: string, res: InvoiceActionResult): string {
  if (res.ok) return t('admin-done', { invoiceId, status: res.view.status });
  if (res.why === 'not-found') return t('invoice-not-found');
  if (res.why === 'closed') return t('admin-closed', { invoiceId, status: res.view.status });
  return t('admin-refused-by-workflow', { reason: res.message });
}
