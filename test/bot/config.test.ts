/**
 * The bot's configuration and button payloads, without Telegram or Temporal: bad settings are
 * refused with a message that says what to set (and never repeats the token), buttons round-trip
 * and anything else is "outdated", and invoice ids are stable per message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../common/errors.js';
import { decodeCallback, encodeCallback, invoiceIdFor, type Callback } from '../../bot/callbacks.js';
import { loadBotConfig } from '../../bot/config.js';
import { localeFromTelegram } from '../../bot/i18n.js';

const TOKEN = `123456789:AAH${'k'.repeat(32)}`;

describe('bot configuration', () => {
  test('long polling by default; admins, rate limit and locale parsed', () => {
    const c = loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_ADMIN_IDS: '11, 22', X0T_BOT_RATE_LIMIT: '5/1000', X0T_BOT_DEFAULT_LOCALE: 'ru' });
    assert.equal(c.mode, 'polling');
    assert.deepEqual([...c.adminIds], [11, 22]);
    assert.deepEqual(c.rateLimit, { limit: 5, windowMs: 1000 });
    assert.equal(c.defaultLocale, 'ru');
  });

  test('webhook mode needs https and a secret token; the listen address is parsed', () => {
    const c = loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/tg/hook', TELEGRAM_WEBHOOK_SECRET: 's'.repeat(20), X0T_BOT_WEBHOOK_LISTEN: '0.0.0.0:8443' });
    assert.equal(c.mode, 'webhook');
    assert.deepEqual({ ...c.webhook, secretToken: undefined }, { url: 'https://bot.example.com/tg/hook', secretToken: undefined, host: '0.0.0.0', port: 8443, path: '/tg/hook' });
    assert.throws(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_URL: 'https://bot.example.com/' }), /TELEGRAM_WEBHOOK_SECRET/);
    assert.throws(() => loadBotConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_URL: 'http://bot.example.com/', TELEGRAM_WEBHOOK_SECRET: 's'.repeat(20) }), /must be https/);
  });

  test('bad settings are ConfigErrors that name the variable and never echo the token', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{}, /TELEGRAM_BOT_TOKEN is missing/],
      [{ TELEGRAM_BOT_TOKEN: 'not-a-token-but-a-secret-anyway' }, /TELEGRAM_BOT_TOKEN .*not a bot token/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_ADMIN_IDS: '12,@bob' }, /TELEGRAM_ADMIN_IDS: "@bob"/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, X0T_BOT_RATE_LIMIT: 'lots' }, /X0T_BOT_RATE_LIMIT=lots/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, X0T_BOT_DEFAULT_LOCALE: 'de' }, /X0T_BOT_DEFAULT_LOCALE=de/],
      [{ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: 'ftp://x' }, /TELEGRAM_API_ROOT/],
    ];
    for (const [env, message] of cases) {
      const err = (() => {
        try {
          loadBotConfig(env);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      assert.ok(err instanceof ConfigError, `${JSON.stringify(Object.keys(env))} must be refused`);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(TOKEN) && !err.message.includes('not-a-token-but-a-secret-anyway'), 'the token is not echoed');
    }
  });
});

describe('button payloads', () => {
  test('every button the bot makes round-trips within 64 bytes', () => {
    const all: Callback[] = [
      { action: 'menu' },
      { action: 'tariffs' },
      { action: 'status' },
      { action: 'trial' },
      { action: 'referral' },
      { action: 'lang', locale: 'ru' },
      { action: 'tier', tierId: 'quarter' },
      { action: 'currency', tierId: 'quarter', currency: 'USDT_TRC20' },
      { action: 'paid', invoiceId: invoiceIdFor(9_007_199_254_740, 9_007_199_254_740, 2_147_483_647) },
      { action: 'cancel', invoiceId: 'x0t-abc-1' },
      { action: 'refresh', invoiceId: 'x0t-abc-1' },
      { action: 'show', invoiceId: 'x0t-abc-1' },
    ];
    for (const cb of all) {
      const data = encodeCallback(cb);
      assert.ok(Buffer.byteLength(data) <= 64, data);
      assert.deepEqual(decodeCallback(data), cb);
    }
  });

  test('anything else is recognised as an outdated button, never misread', () => {
    for (const data of [undefined, '', 'tariffs', '2|menu', '1|menu|x', '1|lang|english', '1|tier|Bad Tier', '1|currency|month|BTC', '1|paid|../x', '1|paid', '1|paid|a|b', 'x'.repeat(65)]) {
      assert.equal(decodeCallback(data), undefined, String(data));
    }
  });

  test('an invoice id is a function of the message it was opened from', () => {
    assert.equal(invoiceIdFor(1000, 1000, 7), invoiceIdFor(1000, 1000, 7));
    assert.notEqual(invoiceIdFor(1000, 1000, 7), invoiceIdFor(1000, 1000, 8));
    assert.notEqual(invoiceIdFor(1000, 1000, 7), invoiceIdFor(1001, 1001, 7));
    assert.match(invoiceIdFor(123456789, 123456789, 42), /^x0t-[0-9a-z]+-[0-9a-z]+$/);
  });

  test('Telegram language codes map to the two locales', () => {
    assert.equal(localeFromTelegram('ru'), 'ru');
    assert.equal(localeFromTelegram('ru-RU'), 'ru');
    assert.equal(localeFromTelegram('en-GB'), 'en');
    assert.equal(localeFromTelegram('de'), 'en');
    assert.equal(localeFromTelegram(undefined), undefined);
  });
});

describe('Telegram notifier (the payment activities\' sender)', () => {
  test('renders in the customer\'s chosen language, and a customer who cannot be reached is logged, not retried forever', async () => {
    const { TelegramApiStandIn } = await import('../standins/telegram-api.js');
    const { createTelegramSender } = await import('../../bot/notifier.js');
    const { FileLocalePrefs } = await import('../../bot/prefs.js');
    const path = await import('node:path');
    const tg = await TelegramApiStandIn.start(TOKEN);
    try {
      const lines: Array<{ msg: string }> = [];
      const log = { debug() {}, info() {}, warn: (msg: string) => void lines.push({ msg }), error() {}, child: () => log };
      const prefs = new FileLocalePrefs(path.join(process.env.X0T_DATA_DIR ?? '/tmp', `notifier-${process.pid}`));
      const send = createTelegramSender({ token: TOKEN, apiRoot: tg.apiRoot, logger: log, prefs });
      const known = { id: 4242, is_bot: false as const, first_name: 'K' };
      tg.sendText(known, '/start'); // the chat exists once the user wrote to the bot
      await prefs.set(known.id, 'ru');
      await send({ idempotencyKey: 'k1', customerId: '4242', kind: 'access-key', text: 'x', data: { invoiceId: 'x0t-1-1', accessKey: 'KEY<&>', expiresAt: '2027-01-01T00:00:00.000Z' } });
      const sent = tg.calls.find((c) => c.method === 'sendMessage')!;
      assert.match(String(sent.params.text), /Ваш ключ доступа/);
      assert.ok(String(sent.params.text).includes('KEY&lt;&amp;&gt;'), 'values are HTML-escaped');
      await send({ idempotencyKey: 'k2', customerId: '777000111', kind: 'subscription-reminder', text: 'x', data: { activeUntil: '2027-01-01T00:00:00.000Z' } });
      assert.ok(lines.some((l) => /unreachable/.test(l.msg)), 'logged as unreachable');
    } finally {
      await tg.close();
    }
  });
});
