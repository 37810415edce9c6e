/**
 * Accounts through the bot, enforced by the customer's `subscription` workflow (not bot memory):
 * the free month once per Telegram account, referral links (self-referral refused, the referrer
 * credited exactly once), operator commands for allow-listed ids only, and the language switch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { invoiceQuery, subscriptionQuery, subscriptionWorkflowId, type SubscriptionView } from '../../workflows/payments/contract.js';
import type { RunningBot } from '../../bot/run.js';
import type { TgUser } from '../standins/telegram-api.js';
import { testEnv } from '../support/env.js';
import { body, buyThroughBot, invoiceIdOf, newUser, startHarness, type Harness } from './support/harness.js';

const env = testEnv(import.meta.url);
const DAY = 86_400_000;

describe('bot accounts: trial, referrals, operators, language', () => {
  let h: Harness;
  let bot: RunningBot;
  const operator = newUser('Olga', 'en');

  before(async () => {
    h = await startHarness(env, 'accounts');
    bot = await h.startBot({ TELEGRAM_ADMIN_IDS: `1,${operator.id}` });
  });
  after(async () => {
    await h?.close();
  });

  const sub = (u: TgUser): Promise<SubscriptionView> => h.client.workflow.getHandle(subscriptionWorkflowId(String(u.id))).query(subscriptionQuery);

  /** Sends a message and returns the text of the bot's next message to that user. */
  async function say(u: TgUser, text: string): Promise<string> {
    const since = h.tg.lastSeq;
    h.tg.sendText(u, text);
    const c = await h.tg.waitForCall((x) => (x.method === 'sendMessage' || x.method === 'editMessageText') && Number(x.params.chat_id) === u.id, { sinceSeq: since, what: `the answer to ${text}` });
    return body(c.result as never);
  }

  /** Presses a menu button on a fresh /start menu and returns the bot's next message text. */
  async function pressMenu(u: TgUser, data: string): Promise<string> {
    await say(u, '/start');
    const menu = h.tg.botMessages(u.id).at(-1)!;
    const since = h.tg.lastSeq;
    h.tg.press(u, menu, data);
    const c = await h.tg.waitForCall((x) => (x.method === 'sendMessage' || x.method === 'editMessageText') && Number(x.params.chat_id) === u.id, { sinceSeq: since, what: `the answer to ${data}` });
    return body(c.result as never);
  }

  test('the free month is granted once per Telegram account; a second request, even after a bot restart, is refused by the workflow', async () => {
    const u = newUser('Tim');
    assert.match(await pressMenu(u, '1|trial'), /Your free month is active until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const first = await sub(u);
    assert.equal(first.trialUsed, true);
    assert.ok(Date.parse(first.activeUntil!) > Date.now() + 29 * DAY);

    assert.match(await pressMenu(u, '1|trial'), /The free month is not available: the free trial was already used/);
    await bot.stop();
    bot = await h.startBot({ TELEGRAM_ADMIN_IDS: `1,${operator.id}` });
    assert.match(await pressMenu(u, '1|trial'), /The free month is not available: the free trial was already used/);
    assert.equal((await sub(u)).activeUntil, first.activeUntil, 'no second month');
  });

  test('a self-referral is refused by the workflow and records nothing', async () => {
    const u = newUser('Sam');
    const text = await pressMenu(u, '1|referral');
    const link = /https:\/\/t\.me\/x0t_test_bot\?start=(ref_[0-9a-z]+)/.exec(text);
    assert.ok(link, text);
    assert.equal(link[1], `ref_${u.id.toString(36)}`);
    assert.match(await say(u, `/start ${link[1]}`), /This invitation link cannot be used \(a customer cannot refer themselves\)/);
    assert.equal((await sub(u)).referredBy, undefined);
  });

  test('a referral credits the referrer one month when the referred customer\'s first payment is confirmed, exactly once', async () => {
    const referrer = newUser('Rita');
    const link = /start=(ref_[0-9a-z]+)/.exec(await pressMenu(referrer, '1|referral'))![1]!;
    const before = await sub(referrer);
    assert.equal(before.referralCreditsGranted, 0);

    const friend = newUser('Fred');
    assert.match(await say(friend, `/start ${link}`), /You came with an invitation/);
    // Clicking the link again (or another one) changes nothing.
    assert.match(await say(friend, `/start ${link}`), /cannot be used \(a referrer is already recorded\)/);
    assert.equal((await sub(friend)).referredBy, String(referrer.id));

    const pay = async () => {
      const { invoice } = await buyThroughBot(h, friend, 'month', 'TON');
      const id = invoiceIdOf(invoice);
      await h.ton.pay('2.5', id);
      // Polled by query; a query may time out while two test files load both cores: ask again.
      const status = () => h.client.workflow.getHandle(id).query(invoiceQuery).then((v) => v.status, () => 'unknown');
      for (const end = Date.now() + 90_000; (await status()) !== 'fulfilled'; ) {
        assert.ok(Date.now() < end, 'the payment was fulfilled');
        await new Promise((r) => setTimeout(r, 150));
      }
      return id;
    };
    await pay();
    let credited: SubscriptionView | undefined;
    for (const end = Date.now() + 60_000; !(credited = await sub(referrer)).referralCreditsGranted; ) {
      assert.ok(Date.now() < end, 'the referrer was credited');
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.equal(credited.referralCreditsGranted, 1);
    const until = Date.parse(credited.activeUntil!);
    assert.ok(until > Date.now() + 29 * DAY && until < Date.now() + 31 * DAY, 'one month credited');

    // A second payment by the same friend, and more clicks on the link: still one credit.
    await pay();
    await say(friend, `/start ${link}`);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await sub(referrer);
    assert.equal(after.referralCreditsGranted, 1);
    assert.equal(after.activeUntil, credited.activeUntil);
    assert.equal((await sub(friend)).paidInvoices.length, 2);
  });

  test('operator commands: everyone else gets a polite refusal and no data; operators look up, confirm with a reason (recorded), refund, and see health', async () => {
    const customer = newUser('Carl');
    const { invoice } = await buyThroughBot(h, customer, 'month', 'USDT_TRC20');
    const id = invoiceIdOf(invoice);

    const outsider = newUser('Ivan');
    for (const cmd of [`/invoice ${id}`, '/health', `/confirm ${id} I say so`, `/refund ${id} give it back`, '/admin', '/invoice']) {
      const reply = await say(outsider, cmd);
      assert.equal(reply, 'Sorry, this command is for operators only.', cmd);
    }
    assert.equal((await h.client.workflow.getHandle(id).query(invoiceQuery)).status, 'awaiting', 'nothing changed');

    const lookup = await say(operator, `/invoice ${id}`);
    assert.match(lookup, new RegExp(`customer ${customer.id}, tier month`));
    assert.match(lookup, /status awaiting/);
    assert.ok(!/access key/i.test(lookup));

    assert.match(await say(operator, `/confirm ${id}`), /Give a reason/);
    assert.match(await say(operator, `/confirm ${id} paid by bank transfer, ticket 42`), new RegExp(`Done: ${id} is now fulfilled`));
    const confirmed = await h.client.workflow.getHandle(id).query(invoiceQuery);
    assert.equal(confirmed.status, 'fulfilled');
    assert.deepEqual(confirmed.audit.map((a) => [a.actor, a.action, a.reason]), [[`telegram:${operator.id}`, 'confirm', 'paid by bank transfer, ticket 42']]);

    assert.match(await say(operator, `/refund ${id} customer asked`), /is now refunded|nothing was changed|The workflow refused/);
    const health = await say(operator, '/health');
    assert.match(health, /Mesh health/);
    assert.match(health, /Healing summary: not available yet/);
    assert.match(await say(operator, '/invoice x0t-nope-1'), /No such invoice/);
  });

  test('texts follow the Telegram language, and the choice can be switched and is kept across restarts', async () => {
    const u = newUser('Вера', 'ru');
    assert.match(await say(u, '/start'), /самовосстанавливающаяся mesh-сеть/);
    const menu = h.tg.botMessages(u.id).at(-1)!;
    const since = h.tg.lastSeq;
    const q = h.tg.press(u, menu, '1|lang|en');
    await h.tg.waitForCall((c) => c.method === 'editMessageText' && Number(c.params.chat_id) === u.id, { sinceSeq: since, what: 'the menu in English' });
    assert.match(body(h.tg.current(u.id, menu.message_id)), /is a self-healing mesh network/);
    assert.equal((await h.tg.waitUntil(() => h.tg.callbackAnswer(q), 5000, 'answer')).params.text, 'Language: English.');
    await bot.stop();
    bot = await h.startBot({ TELEGRAM_ADMIN_IDS: `1,${operator.id}` });
    assert.match(await say(u, '/status'), /Your status/);
    assert.match(await say(u, '/language'), /Язык: русский/);
  });
});
