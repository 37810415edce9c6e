/**
 * Messages and keyboards built from workflow views. Pure functions of (translate, view, now):
 * the same view renders the same message, which is what makes refreshes idempotent.
 */
import { InlineKeyboard } from 'grammy';
import type { InvoiceView, SubscriptionView } from '../workflows/payments/contract.js';
import { isFinal } from './backend.js';
import { encodeCallback } from './callbacks.js';
import { htmlVars } from './i18n.js';
import { paymentUri } from './qr.js';

/** Translate with HTML-escaped variables. */
export type T = (key: string, vars?: Record<string, string | number>) => string;

export function makeT(raw: (key: string, vars?: Record<string, string | number>) => string): T {
  return (key, vars) => raw(key, vars ? htmlVars(vars) : undefined);
}

export interface TierOffer {
  id: string;
  days: number;
  price: { USDT_TRC20: string; TON: string };
}

export function periodLabel(t: T, days: number): string {
  return days >= 28 && days % 30 <= 5 ? t('period-months', { months: Math.max(1, Math.round(days / 30)) }) : t('period-days', { days });
}

export const currencyLabel = (t: T, c: string) => t(`currency-${c}`);
export const statusLabel = (t: T, s: string) => t(`status-${s}`);

const hhmm = (iso: string) => iso.slice(0, 16).replace('T', ' ');

export function mainMenu(t: T, otherLocale: string): InlineKeyboard {
  return new InlineKeyboard()
    .text(t('btn-tariffs'), encodeCallback({ action: 'tariffs' }))
    .text(t('btn-status'), encodeCallback({ action: 'status' }))
    .row()
    .text(t('btn-trial'), encodeCallback({ action: 'trial' }))
    .text(t('btn-referral'), encodeCallback({ action: 'referral' }))
    .row()
    .text(t('btn-language'), encodeCallback({ action: 'lang', locale: otherLocale }));
}

export function tariffsKeyboard(t: T, tiers: TierOffer[]): InlineKeyboard {
  const kb = new InlineKeyboard();
  for (const tier of tiers) {
    kb.text(t('tier-button', { period: periodLabel(t, tier.days), usdt: tier.price.USDT_TRC20, ton: tier.price.TON }), encodeCallback({ action: 'tier', tierId: tier.id })).row();
  }
  return kb.text(t('btn-back'), encodeCallback({ action: 'menu' }));
}

export function currencyKeyboard(t: T, tierId: string): InlineKeyboard {
  return new InlineKeyboard()
    .text(currencyLabel(t, 'USDT_TRC20'), encodeCallback({ action: 'currency', tierId, currency: 'USDT_TRC20' }))
    .text(currencyLabel(t, 'TON'), encodeCallback({ action: 'currency', tierId, currency: 'TON' }))
    .row()
    .text(t('btn-back'), encodeCallback({ action: 'tariffs' }));
}

/** The invoice message's caption: amount, address, comment, deeplink, countdown, status, key. */
export function invoiceCaption(t: T, view: InvoiceView, tierDays: number | undefined, now: number): string {
  const inv = view.invoice;
  const lines = [
    t('invoice-caption', {
      invoiceId: inv.invoiceId,
      period: tierDays ? periodLabel(t, tierDays) : inv.tierId,
      amount: inv.amountDisplay,
      currency: inv.currency === 'TON' ? 'TON' : 'USDT',
      address: inv.merchantAddress,
    }),
  ];
  if (inv.currency === 'TON') {
    lines.push(t('invoice-ton-comment', { comment: inv.comment ?? inv.invoiceId }));
    lines.push(t('invoice-ton-link', { link: paymentUri(inv) }));
  } else lines.push(t('invoice-usdt-exact'));
  lines.push('');
  const expiresMs = Date.parse(inv.expiresAt);
  if (view.status === 'awaiting' || view.status === 'verifying') {
    if (expiresMs > now) lines.push(t('invoice-expires', { minutes: Math.max(1, Math.ceil((expiresMs - now) / 60_000)), at: hhmm(inv.expiresAt) }));
    else lines.push(t('invoice-expired-at', { at: hhmm(inv.expiresAt) }));
  }
  lines.push(t('invoice-status-line', { status: statusLabel(t, view.status) }));
  if (view.reason && view.status !== 'awaiting') lines.push(t('invoice-reason-line', { reason: view.reason }));
  if (view.status === 'fulfilled' && view.accessKey) {
    lines.push('', t('access-key', { key: view.accessKey, until: hhmm(view.accessExpiresAt ?? '') }));
  }
  return lines.join('\n');
}

/** Buttons while the customer can still act; none once the invoice is final. */
export function invoiceKeyboard(t: T, view: InvoiceView): InlineKeyboard | undefined {
  const id = view.invoice.invoiceId;
  if (isFinal(view.status)) return undefined;
  const kb = new InlineKeyboard();
  if (view.status === 'awaiting' || view.status === 'verifying' || view.status === 'expired') {
    kb.text(t('btn-paid'), encodeCallback({ action: 'paid', invoiceId: id }));
    if (view.status === 'awaiting') kb.text(t('btn-cancel'), encodeCallback({ action: 'cancel', invoiceId: id }));
    kb.row();
  }
  return kb.text(t('btn-refresh'), encodeCallback({ action: 'refresh', invoiceId: id }));
}

export function statusText(t: T, sub: SubscriptionView | undefined, open: InvoiceView[], tierDays: (tierId: string) => number | undefined, now: number): { text: string; keyboard: InlineKeyboard } {
  const lines = [t('status-title'), ''];
  if (sub?.active && sub.activeUntil) {
    const days = sub.tierId ? tierDays(sub.tierId) : undefined;
    lines.push(t('status-sub-active', { until: hhmm(sub.activeUntil), tier: days ? periodLabel(t, days) : sub.tierId === 'trial' || !sub.tierId ? t('tier-trial') : sub.tierId }));
  } else if (sub?.activeUntil && Date.parse(sub.activeUntil) <= now) lines.push(t('status-sub-expired', { until: hhmm(sub.activeUntil) }));
  else lines.push(t('status-sub-inactive'));
  lines.push(t(sub?.trialUsed ? 'status-trial-used' : 'status-trial-available'));
  if (sub && sub.referralCreditsGranted > 0) lines.push(t('status-referrals', { count: sub.referralCreditsGranted }));
  lines.push('');
  const keyboard = new InlineKeyboard();
  if (open.length === 0) lines.push(t('status-open-none'));
  else {
    lines.push(t('status-open-title'));
    for (const v of open) {
      lines.push(t('status-open-line', { invoiceId: v.invoice.invoiceId, amount: v.invoice.amountDisplay, currency: v.invoice.currency === 'TON' ? 'TON' : 'USDT', status: statusLabel(t, v.status) }));
      keyboard.text(t('btn-show-invoice', { invoiceId: v.invoice.invoiceId }), encodeCallback({ action: 'show', invoiceId: v.invoice.invoiceId })).row();
    }
  }
  keyboard.text(t('btn-tariffs'), encodeCallback({ action: 'tariffs' })).text(t('btn-back'), encodeCallback({ action: 'menu' }));
  return { text: lines.join('\n'), keyboard };
}
