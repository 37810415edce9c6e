/**
 * The purchase flow a customer sees, end to end: the bot (long polling against the Telegram
 * stand-in) → Temporal → the real paymentConfirmation / subscription workflows → chain stand-ins
 * → notifications back through Telegram. Both currencies, double clicks, stale and forged buttons.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { invoiceQuery, subscriptionQuery, subscriptionWorkflowId } from '../../workflows/payments/contract.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { body, buyThroughBot, invoiceIdOf, newUser, startHarness, type Harness } from './support/harness.js';

const env = testEnv(import.meta.url);

describe('bot purchase flow against real payment workflows', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness(env, 'purchase');
    await h.startBot();
  });
  after(async () => {
    await h?.close();
  });

  test('USDT: /start → tariffs → tier → currency → invoice with exact amount, address, QR; pay; "I paid"; access key delivered; /status shows the subscription', async () => {
    const { tg } = h;
    const user = newUser('Ann', 'en');
    const { invoice, qr } = await buyThroughBot(h, user, 'month', 'USDT_TRC20');
    const invoiceId = invoiceIdOf(invoice);
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);

    // The message carries the workflow's own figures, and the QR encodes the address to pay.
    assert.equal(view.invoice.customerId, String(user.id));
    assert.match(view.invoice.amountDisplay, /^10\.\d{1,6}$/, 'a unique USDT amount just above the price');
    assert.ok(body(invoice).includes(`Send exactly ${view.invoice.amountDisplay} USDT`), body(invoice));
    assert.ok(body(invoice).includes(h.tron.merchant));
    assert.match(body(invoice), /Expires in (9|10) minutes \(at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    assert.equal(qr, h.tron.merchant);
    const buttons = invoice.reply_markup!.inline_keyboard.flat().map((b) => b.callback_data);
    assert.deepEqual(buttons, [`1|paid|${invoiceId}`, `1|cancel|${invoiceId}`, `1|refresh|${invoiceId}`]);

    // The customer pays the exact amount; "I paid" makes the workflow look now.
    h.tron.pay(view.invoice.amountBaseUnits);
    const since = tg.lastSeq;
    const cbq = tg.press(user, invoice, `1|paid|${invoiceId}`);
    const answer = await tg.waitUntil(() => tg.callbackAnswer(cbq), 15_000, '"I paid" answered');
    assert.match(String(answer.params.text), /Checked now: paid|Checking the network|final \(paid ✅\)/);

    // Live status: the invoice message turns into the access key and how to use it.
    const done = await tg.waitUntil(() => /Your access key/.test(body(tg.current(user.id, invoice.message_id))) && tg.current(user.id, invoice.message_id), 30_000, 'the key in the invoice message');
    const final = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(final.status, 'fulfilled');
    assert.ok(body(done).includes(final.accessKey!), 'the message shows the issued key');
    assert.match(body(done), /How to use it/);
    assert.equal(done.reply_markup, undefined, 'no buttons on a fulfilled invoice');

    // The workflow's own notification reaches the customer through the Telegram notifier.
    const note = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id && String(c.params.text).includes(final.accessKey!), { sinceSeq: since, what: 'the access-key notification' });
    assert.equal(note.params.parse_mode, 'HTML');

    // /status: subscription active, nothing open.
    const s2 = tg.lastSeq;
    tg.sendText(user, '/status');
    const status = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === user.id, { sinceSeq: s2, what: '/status' });
    assert.match(body(status.result as never), /Subscription active until/);
    assert.match(body(status.result as never), /No open invoices/);
    await recordHistoryIfAsked(env, h.client.workflow.getHandle(invoiceId), 'paymentConfirmation.bot-usdt');
  });

  test('TON in Russian: the invoice carries the comment and a ton://transfer link (also in the QR); paying without pressing anything updates the message live', async () => {
    const { tg } = h;
    const user = newUser('Борис', 'ru');
    const { invoice, qr } = await buyThroughBot(h, user, 'month', 'TON');
    const invoiceId = invoiceIdOf(invoice);
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(view.invoice.amountDisplay, '2.5');
    assert.equal(view.invoice.comment, invoiceId, 'the TON comment is the invoice id');
    const link = `ton://transfer/${h.ton.merchant}?amount=2500000000&text=${invoiceId}`;
    assert.ok(body(invoice).includes('Переведите ровно 2.5 TON'), body(invoice));
    assert.ok(body(invoice).includes(`с комментарием ${invoiceId}`));
    assert.ok(body(invoice).includes(link), 'the deeplink is in the message');
    assert.equal(qr, link, 'the QR encodes the deeplink');
    assert.match(body(invoice), /Действует ещё \d+ минут/);

    await h.ton.pay('2.5', invoiceId);
    const done = await tg.waitUntil(() => /Ваш ключ доступа/.test(body(tg.current(user.id, invoice.message_id))) && tg.current(user.id, invoice.message_id), 40_000, 'the live update to fulfilled');
    assert.match(body(done), /Статус: оплачено ✅/);
    const sub = await h.client.workflow.getHandle(subscriptionWorkflowId(String(user.id))).query(subscriptionQuery);
    assert.equal(sub.active, true);
    assert.deepEqual(sub.paidInvoices, [invoiceId]);
    await recordHistoryIfAsked(env, h.client.workflow.getHandle(invoiceId), 'paymentConfirmation.bot-ton');
  });

  test('a double click on a currency button opens one invoice and says so; pressing it again later does too', async () => {
    const { tg } = h;
    const user = newUser('Cid');
    const { invoice, currencyMessage } = await buyThroughBot(h, user, 'month', 'USDT_TRC20');
    const invoiceId = invoiceIdOf(invoice);
    // The same (now stale) currency message: both of its buttons name the same invoice.
    const since = tg.lastSeq;
    const again = tg.press(user, currencyMessage, '1|currency|month|USDT_TRC20');
    const other = tg.press(user, currencyMessage, '1|currency|month|TON');
    for (const q of [again, other]) {
      const a = await tg.waitUntil(() => tg.callbackAnswer(q), 15_000, 'the repeated click answered');
      assert.match(String(a.params.text), /already created from this message/);
    }
    assert.equal(tg.calls.filter((c) => c.seq > since && c.method === 'sendPhoto').length, 0, 'no second invoice message');
    const open = await h.client.workflow.list({ query: `WorkflowType = 'paymentConfirmation' AND CustomerId = '${user.id}'` });
    const ids: string[] = [];
    for await (const wf of open) ids.push(wf.workflowId);
    assert.deepEqual(ids, [invoiceId]);
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(view.invoice.currency, 'USDT_TRC20', 'the first click decided the currency');
  });

  test('"I paid" pressed twice before paying: both clicks are answered with the current status and nothing else happens', async () => {
    const { tg } = h;
    const user = newUser('Gus');
    const { invoice } = await buyThroughBot(h, user, 'month', 'USDT_TRC20');
    const invoiceId = invoiceIdOf(invoice);
    const q1 = tg.press(user, invoice, `1|paid|${invoiceId}`);
    const q2 = tg.press(user, invoice, `1|paid|${invoiceId}`);
    for (const q of [q1, q2]) {
      const a = await tg.waitUntil(() => tg.callbackAnswer(q), 20_000, '"I paid" answered');
      assert.match(String(a.params.text), /Checked now: waiting for your transfer|Checking the network/);
    }
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(view.status, 'awaiting');
    assert.equal(view.txHash, undefined);
  });

  test('cancel, then stale "I paid"/"Cancel" from the old message: nothing changes and the answer says why', async () => {
    const { tg } = h;
    const user = newUser('Dora');
    const { invoice } = await buyThroughBot(h, user, 'year', 'TON');
    const invoiceId = invoiceIdOf(invoice);
    const cancel = tg.press(user, invoice, `1|cancel|${invoiceId}`);
    assert.match(String((await tg.waitUntil(() => tg.callbackAnswer(cancel), 15_000, 'cancel answered')).params.text), /Invoice cancelled/);
    assert.equal((await h.client.workflow.getHandle(invoiceId).query(invoiceQuery)).status, 'cancelled');
    await tg.waitUntil(() => tg.current(user.id, invoice.message_id)?.reply_markup === undefined, 10_000, 'the buttons removed');

    // `invoice` is the snapshot with the old buttons: a stale message.
    for (const data of [`1|paid|${invoiceId}`, `1|cancel|${invoiceId}`]) {
      const q = tg.press(user, invoice, data);
      const a = await tg.waitUntil(() => tg.callbackAnswer(q), 15_000, 'stale button answered');
      assert.match(String(a.params.text), /Nothing to check: this invoice is final \(cancelled\)/);
    }
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(view.status, 'cancelled');
    assert.equal(view.audit.length, 0);
  });

  test('buttons of an older bot version and forged buttons for another customer\'s invoice do nothing and leak nothing', async () => {
    const { tg } = h;
    const owner = newUser('Eve');
    const { invoice } = await buyThroughBot(h, owner, 'month', 'USDT_TRC20');
    const invoiceId = invoiceIdOf(invoice);
    const mallory = newUser('Mallory');
    tg.sendText(mallory, '/start');
    const m = await tg.waitUntil(() => tg.botMessages(mallory.id)[0], 10_000, 'mallory menu');
    const seqBefore = tg.lastSeq;
    for (const data of [`1|paid|${invoiceId}`, `1|cancel|${invoiceId}`, `1|show|${invoiceId}`, `1|refresh|${invoiceId}`]) {
      const q = tg.pressData(mallory, m, data);
      const a = await tg.waitUntil(() => tg.callbackAnswer(q), 15_000, 'forged button answered');
      assert.equal(a.params.text, 'No such invoice.');
    }
    const toMallory = tg.calls.filter((c) => c.seq > seqBefore && Number(c.params.chat_id) === mallory.id && c.method !== 'answerCallbackQuery');
    assert.ok(toMallory.every((c) => !JSON.stringify(c.params).includes(invoiceId)), 'nothing about the invoice was sent to another user');
    assert.equal((await h.client.workflow.getHandle(invoiceId).query(invoiceQuery)).status, 'awaiting', 'the owner\'s invoice is untouched');

    for (const data of ['buy:month:TON', '0|paid|x', '1|paid|../../etc', '1|nope', '1|tier|month|extra']) {
      const q = tg.pressData(mallory, m, data);
      const a = await tg.waitUntil(() => tg.callbackAnswer(q), 15_000, 'outdated button answered');
      assert.match(String(a.params.text), /This button is outdated/);
    }
  });
});
