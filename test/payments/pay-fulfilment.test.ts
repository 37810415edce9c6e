import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { accessKeyRecordPath, loadSigningKey, publicKeyPem, verifyAccessKey } from '../../activities/control/payments/access-key.js';
import { notificationDir } from '../../activities/control/payments/notify.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import type { WorkerProcess } from '../../common/worker-process.js';
import { iPaidUpdate, invoiceQuery, subscriptionQuery, subscriptionWorkflowId } from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import type { StandinServer } from '../standins/http.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger } from '../standins/tron.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { startWorkerProcess, testClient } from '../support/workers.js';
import { eventually, invoiceId, sleep, writeTariffs } from './support.js';

const env = testEnv(import.meta.url);
const DAY = 86_400_000;
const EventType = proto.temporal.api.enums.v1.EventType;

describe('fulfilment on the real control worker: exactly once across a SIGKILL, findable by search attributes', () => {
  const ledger = new TronLedger();
  const merchant = randomTronAddress();
  const dataDir = process.env.X0T_DATA_DIR!; // the control worker process inherits it
  let trongrid: StandinServer;
  let tronscan: StandinServer;
  let tariffsFile: string;
  let client: Client;
  let connection: Connection;
  const workers: WorkerProcess[] = [];
  const startControl = async () => workers.push(await startWorkerProcess(env, 'control', { extraEnv: { X0T_TARIFFS_FILE: tariffsFile } }));

  before(async () => {
    trongrid = await startTronGrid(ledger);
    tronscan = await startTronScan(ledger);
    tariffsFile = writeTariffs(path.join(dataDir, 'fulfilment-test'), { tronMerchant: merchant, trongrid: trongrid.url, tronscan: tronscan.url });
    ({ client, connection } = await testClient(env));
    await startControl();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
    await trongrid?.close();
    await tronscan?.close();
  });

  test('the control worker killed mid-fulfilment: one access key, one notification, the subscription extended once', async () => {
    const customerId = `c-kill-${Date.now()}`;
    const first = invoiceId('first');
    // A first paid invoice gives the customer an active subscription to extend.
    const h1 = await client.workflow.start(paymentConfirmation, { workflowId: first, taskQueue: CONTROL_TASK_QUEUE, args: [{ invoiceId: first, customerId, tierId: 'month', currency: 'USDT_TRC20' }] });
    const inv1 = await eventually(async () => ((await h1.query(invoiceQuery)).invoice.amountBaseUnits ? (await h1.query(invoiceQuery)).invoice : undefined), 'invoice 1');
    ledger.add({ to: merchant, value: inv1.amountBaseUnits, solidified: true });
    await h1.executeUpdate(iPaidUpdate);
    const r1 = await h1.result();
    assert.equal(r1.status, 'fulfilled');

    const second = invoiceId('second');
    const h2 = await client.workflow.start(paymentConfirmation, { workflowId: second, taskQueue: CONTROL_TASK_QUEUE, args: [{ invoiceId: second, customerId, tierId: 'month', currency: 'USDT_TRC20' }] });
    const inv2 = await eventually(async () => ((await h2.query(invoiceQuery)).invoice.amountBaseUnits ? (await h2.query(invoiceQuery)).invoice : undefined), 'invoice 2');
    ledger.add({ to: merchant, value: inv2.amountBaseUnits, solidified: true });
    const keyFile = accessKeyRecordPath(dataDir, second);
    void h2.executeUpdate(iPaidUpdate).catch(() => undefined);
    // Kill the worker the moment the key record exists: the activity has not reported back yet
    // (or only just), and the notification has not been sent.
    for (let i = 0; !fs.existsSync(keyFile); i++) {
      assert.ok(i < 20_000, 'the key was never issued');
      await sleep(1);
    }
    const victim = workers.pop()!;
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const keyBefore = JSON.parse(fs.readFileSync(keyFile, 'utf8')).accessKey as string;
    await startControl();

    const r2 = await h2.result();
    assert.equal(r2.status, 'fulfilled');
    assert.equal(r2.accessKey, keyBefore, 'the key delivered is the one issued before the kill');
    const records = fs.readdirSync(path.dirname(keyFile)).filter((f) => f.startsWith(encodeURIComponent(second)));
    assert.deepEqual(records, [path.basename(keyFile)], 'one issuance record, no leftovers');
    const notes = fs.readdirSync(notificationDir(dataDir)).filter((f) => f.startsWith(encodeURIComponent(`${second}/`)) && f.endsWith('.json'));
    assert.equal(notes.length, 1, `one access-key notification: ${notes.join(', ')}`);

    const claims = verifyAccessKey(r2.accessKey!, publicKeyPem(loadSigningKey(dataDir)));
    assert.ok(claims);
    const sub = await client.workflow.getHandle(subscriptionWorkflowId(customerId)).query(subscriptionQuery);
    assert.deepEqual(sub.paidInvoices, [first, second]);
    assert.equal(sub.activeUntil, claims.exp, 'the key expires with the subscription');
    // Two 30-day payments, stacked: extended once per invoice, not once per attempt.
    const days = (Date.parse(sub.activeUntil!) - Date.parse(r1.accessExpiresAt!)) / DAY;
    assert.ok(Math.abs(days - 30) < 0.01, `second extension added ${days} days`);
    // The kill really interrupted fulfilment: the workflow task issuing the key never completed.
    const types = (await h2.fetchHistory()).events!.map((e) => e.eventType);
    assert.ok(types.includes(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) || types.includes(EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT), 'a task was cut off by the kill and retried');
    await recordHistoryIfAsked(env, h2, 'paymentConfirmation.worker-killed');
    await recordHistoryIfAsked(env, client.workflow.getHandle(subscriptionWorkflowId(customerId)), 'subscription');

    // Invoices are findable by status, customer and currency (the UI/CLI list query).
    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of client.workflow.list({ query: `CustomerId = "${customerId}" AND InvoiceStatus = "fulfilled" AND Currency = "USDT_TRC20"` })) ids.push(w.workflowId);
      return ids.length === 2 ? ids.sort() : undefined;
    }, 'visibility to list both invoices');
    assert.deepEqual(found, [first, second].sort());
  });
});
