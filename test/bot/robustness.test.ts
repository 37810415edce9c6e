/**
 * Production behaviour: malformed and oversized updates, Telegram's 429 flood answers, the
 * per-user rate limit, webhook mode with its secret token, the token kept out of every log, and
 * a bot process killed in the middle of a purchase (nothing is lost: the state is in Temporal).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { invoiceQuery } from '../../workflows/payments/contract.js';
import { freePort } from '../../common/net.js';
import type { RunningBot } from '../../bot/run.js';
import { testEnv } from '../support/env.js';
import { body, buyThroughBot, invoiceIdOf, newUser, startHarness, TOKEN, type Harness } from './support/harness.js';

const env = testEnv(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bot robustness', () => {
  let h: Harness;
  let bot: RunningBot | undefined;

  before(async () => {
    // Reminders 40 days ahead: a fresh one-month subscription is reminded about at once.
    h = await startHarness(env, 'robust', { subscription: { reminderBeforeSeconds: 40 * 86400 } });
  });
  after(async () => {
    await h?.close();
  });

  test('malformed and oversized updates are logged and dropped; the bot keeps answering', async () => {
    bot = await h.startBot({ X0T_BOT_MAX_UPDATE_BYTES: '16384' });
    const u = newUser('Una');
    const since = h.tg.lastSeq;
    h.tg.pushUpdate({ message: { text: '/start' } }); // no chat, no sender
    h.tg.pushUpdate({ callback_query: { id: '999', data: '1|paid|x0t-1-1' } }); // no sender, no message
    h.tg.pushUpdate({ callback_query: { id: '998', from: u, chat_instance: 'x', data: 42 } }); // data of the wrong type
    h.tg.pushUpdate({ something_new: { a: 1 } });
    h.tg.pushUpdate({ message: { message_id: 1, date: 0, chat: { id: u.id, type: 'private' }, from: u, text: `/start ${'x'.repeat(100_000)}` } });
    h.tg.sendText(u, '/start');
    const menu = await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === u.id, { sinceSeq: since, what: 'the answer to the good update' });
    assert.match(String(menu.params.text), /self-healing mesh network/);
    await sleep(500);
    assert.equal(h.tg.calls.filter((c) => c.seq > since && c.method === 'sendMessage').length, 1, 'only the good update was answered');
    assert.ok(h.logs.some((l) => l.msg === 'dropped an oversized update'), 'the oversized update was logged');
    assert.ok(h.logs.some((l) => l.level === 'error' && l.msg === 'update failed'), 'a malformed update reached bot.catch');
  });

  test('in a group the bot only points to the private chat: payments and keys stay private', async () => {
    const u = newUser('Gina');
    const group = { id: -100123456, type: 'supergroup', title: 'mesh fans' };
    const since = h.tg.lastSeq;
    h.tg.pushUpdate({ message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: group, from: u, text: '/status', entities: [{ type: 'bot_command', offset: 0, length: 7 }] } });
    const reply = await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === group.id, { sinceSeq: since, what: 'the group reply' });
    assert.equal(reply.params.text, 'Please write to me in a private chat.');
    await sleep(500);
    assert.equal(h.tg.calls.filter((c) => c.seq > since && c.method !== 'getUpdates').length, 1, 'nothing else was sent');
  });

  test('a 429 with retry_after is waited out and the message still arrives', async () => {
    const u = newUser('Walt');
    h.tg.failNext('sendMessage', { error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } }, 2);
    const since = h.tg.lastSeq;
    h.tg.sendText(u, '/start');
    const ok = await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === u.id && c.error === undefined, { sinceSeq: since, what: 'the menu after the 429s' });
    const attempts = h.tg.calls.filter((c) => c.seq > since && c.seq <= ok.seq && c.method === 'sendMessage');
    assert.deepEqual(attempts.map((c) => c.error?.error_code ?? 200), [429, 429, 200]);
  });

  test('a user flooding the bot is rate limited (told once); other users are not affected', async () => {
    await bot!.stop();
    bot = await h.startBot({ X0T_BOT_RATE_LIMIT: '3/4000' });
    const flood = newUser('Flo');
    const calm = newUser('Cal');
    const since = h.tg.lastSeq;
    for (let i = 0; i < 10; i++) h.tg.sendText(flood, '/help');
    h.tg.sendText(calm, '/help');
    await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === calm.id, { sinceSeq: since, what: 'the calm user answered' });
    await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === flood.id && /Too many requests/.test(String(c.params.text)), { sinceSeq: since, what: 'the flood warning' });
    await sleep(2000); // outgoing messages to one chat are throttled to about one a second
    const toFlood = h.tg.calls.filter((c) => c.seq > since && c.method === 'sendMessage' && Number(c.params.chat_id) === flood.id).map((c) => String(c.params.text));
    assert.equal(toFlood.filter((t) => /self-healing/.test(t)).length, 3, 'three handled');
    assert.deepEqual(toFlood.filter((t) => /Too many requests/.test(t)), ['Too many requests: please wait a few seconds.'], 'told once');
    await bot!.stop();
    bot = undefined;
  });

  test('webhook mode: updates POSTed with the secret token are handled; a wrong or missing token, oversized and malformed bodies are refused', async () => {
    const port = await freePort();
    const secret = 'wh_secret_0123456789abcdef';
    const url = `http://127.0.0.1:${port}/telegram/hook`;
    bot = await h.startBot({ TELEGRAM_WEBHOOK_URL: url, TELEGRAM_WEBHOOK_SECRET: secret, X0T_BOT_WEBHOOK_LISTEN: `127.0.0.1:${port}`, X0T_BOT_MAX_UPDATE_BYTES: '16384' });
    assert.equal(bot.mode, 'webhook');
    const setWebhook = h.tg.calls.filter((c) => c.method === 'setWebhook').at(-1)!;
    assert.equal(setWebhook.params.url, url);
    assert.equal(setWebhook.params.secret_token, secret);

    const u = newUser('Web');
    const since = h.tg.lastSeq;
    h.tg.sendText(u, '/start'); // the stand-in POSTs it with the secret header
    await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === u.id, { sinceSeq: since, what: 'the webhook update answered' });
    assert.equal((await h.tg.waitUntil(() => h.tg.webhookResponses.at(-1), 10_000, 'the webhook response')).status, 200);

    const update = { update_id: 5, message: { message_id: 9, date: 0, chat: { id: u.id, type: 'private' }, from: u, text: '/start' } };
    const post = (headers: Record<string, string>, payload: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
    assert.equal((await post({}, JSON.stringify(update))).status, 401, 'no secret');
    assert.equal((await post({ 'x-telegram-bot-api-secret-token': 'wrong_secret_000000000' }, JSON.stringify(update))).status, 401, 'wrong secret');
    const good = { 'x-telegram-bot-api-secret-token': secret };
    assert.equal((await post(good, JSON.stringify({ ...update, message: { ...update.message, text: 'x'.repeat(40_000) } }))).status, 413, 'oversized');
    assert.equal((await post(good, '{"update_id": 5, "message": ')).status, 400, 'not JSON');
    assert.equal((await post(good, '[1,2,3]')).status, 400, 'not an update');
    await sleep(300);
    assert.equal(h.tg.calls.filter((c) => c.seq > since && c.method === 'sendMessage').length, 1, 'none of the refused bodies was handled');
    await bot.stop();
    bot = undefined;
  });

  test('a bot process killed mid-purchase loses nothing: the restarted process serves the old message\'s buttons and the queued click', async () => {
    let proc = await h.spawnBot(); // back to long polling (it deletes the webhook)
    const u = newUser('Rex');
    const { invoice } = await buyThroughBot(h, u, 'month', 'TON');
    const invoiceId = invoiceIdOf(invoice);
    proc.child.kill('SIGKILL');
    await proc.exited;

    // While no bot runs, the customer pays and presses "I paid" on the invoice message.
    await h.ton.pay('2.5', invoiceId);
    const since = h.tg.lastSeq;
    const queued = h.tg.press(u, invoice, `1|paid|${invoiceId}`);
    proc = await h.spawnBot();
    const answer = await h.tg.waitUntil(() => h.tg.callbackAnswer(queued), 30_000, 'the queued click answered by the new process');
    assert.match(String(answer.params.text), /Checked now|final \(paid ✅\)|Checking the network/);
    await h.tg.waitUntil(() => /Your access key/.test(body(h.tg.current(u.id, invoice.message_id))), 30_000, 'the key shown after the restart');
    const view = await h.client.workflow.getHandle(invoiceId).query(invoiceQuery);
    assert.equal(view.status, 'fulfilled');
    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowType = 'paymentConfirmation' AND CustomerId = '${u.id}'` })) ids.push(wf.workflowId);
    assert.deepEqual(ids, [invoiceId], 'one invoice, whatever was redelivered');
    assert.ok(h.tg.calls.filter((c) => c.seq > since && c.method === 'sendPhoto').length === 0, 'no new invoice was opened');

    // The subscription workflow's renewal reminder reaches the customer through the notifier.
    const reminder = await h.tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === u.id && /Your subscription ends on/.test(String(c.params.text)), { sinceSeq: since, what: 'the renewal reminder' });
    assert.match(String(reminder.params.text), /ends on <b>\d{4}-\d\d-\d\d \d\d:\d\d<\/b> UTC\. Renew with \/start/);

    await proc.stop();
    // The token is a secret: no log line of the processes or the in-process bot carries it.
    assert.ok(proc.lines.length > 0);
    assert.ok(!proc.lines.some((l) => l.includes(TOKEN)), 'the bot process never logged the token');
    assert.ok(!JSON.stringify(h.logs).includes(TOKEN), 'no in-process log line carries the token');
  });

  test('a wrong token stops the bot process at start with a clear error that does not echo it', async () => {
    const bad = `7000000001:AAH${'z'.repeat(32)}`;
    const err = await h.spawnBot({ TELEGRAM_BOT_TOKEN: bad }).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'the process must not become ready');
    assert.match(err.message, /exited before it was ready/);
    assert.match(err.message, /401|Unauthorized/);
    assert.ok(!err.message.includes(bad));
  });
});
