/**
 * Inline-button payloads. Telegram gives a button at most 64 bytes of callback data; ours are
 * `1|<action>|<args>` so that buttons of an older format are recognised as stale rather than
 * misread. Parsing never throws: anything unexpected is `undefined` ("outdated button").
 */
import type { Currency } from '../workflows/payments/contract.js';

const VERSION = '1';

export type Callback =
  | { action: 'menu' }
  | { action: 'tariffs' }
  | { action: 'status' }
  | { action: 'trial' }
  | { action: 'referral' }
  | { action: 'lang'; locale: string }
  | { action: 'tier'; tierId: string }
  | { action: 'currency'; tierId: string; currency: Currency }
  | { action: 'paid' | 'cancel' | 'refresh' | 'show'; invoiceId: string };

const TIER = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Invoice ids the bot makes (see invoiceIdFor) and, to be lenient, other plain ids. */
export const INVOICE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{2,47}$/;
const CURRENCIES: readonly Currency[] = ['USDT_TRC20', 'TON'];

export function encodeCallback(cb: Callback): string {
  const parts: string[] = [VERSION, cb.action];
  if (cb.action === 'lang') parts.push(cb.locale);
  else if (cb.action === 'tier') parts.push(cb.tierId);
  else if (cb.action === 'currency') parts.push(cb.tierId, cb.currency);
  else if ('invoiceId' in cb) parts.push(cb.invoiceId);
  const data = parts.join('|');
  if (Buffer.byteLength(data) > 64) throw new RangeError(`callback data over 64 bytes: ${data}`);
  return data;
}

export function decodeCallback(data: string | undefined): Callback | undefined {
  if (typeof data !== 'string' || data.length > 64) return undefined;
  const [version, action, a, b, ...rest] = data.split('|');
  if (version !== VERSION || rest.length) return undefined;
  switch (action) {
    case 'menu':
    case 'tariffs':
    case 'status':
    case 'trial':
    case 'referral':
      return a === undefined ? { action } : undefined;
    case 'lang':
      return a && /^[a-z]{2}$/.test(a) && b === undefined ? { action, locale: a } : undefined;
    case 'tier':
      return a && TIER.test(a) && b === undefined ? { action, tierId: a } : undefined;
    case 'currency':
      return a && TIER.test(a) && CURRENCIES.includes(b as Currency) ? { action, tierId: a, currency: b as Currency } : undefined;
    case 'paid':
    case 'cancel':
    case 'refresh':
    case 'show':
      return a && INVOICE_ID.test(a) && b === undefined ? { action, invoiceId: a } : undefined;
    default:
      return undefined;
  }
}

/**
 * The invoice id for a purchase started from one bot message: deterministic, so pressing the
 * currency button twice (or again later, or after a bot restart) names the same invoice and
 * Temporal's workflow-id uniqueness refuses a second one. Also the TON comment, so it is short.
 */
export function invoiceIdFor(userId: number, chatId: number, messageId: number): string {
  const chat = chatId === userId ? '' : `-${Math.abs(chatId).toString(36)}`;
  return `x0t-${userId.toString(36)}${chat}-${messageId.toString(36)}`;
}
