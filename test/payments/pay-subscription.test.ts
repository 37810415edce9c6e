import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WithStartWorkflowOperation, type Client, type Connection } from '@temporalio/client';
import { notificationDir } from '../../activities/control/payments/notify.js';
import {
  extendSubscriptionSignal,
  iPaidUpdate,
  invoiceQuery,
  requestTrialUpdate,
  setReferrerUpdate,
  subscriptionQuery,
  subscriptionWorkflowId,
} from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import { subscription } from '../../workflows/payments/subscription.js';
import type { StandinServer } from '../standins/http.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger } from '../standins/tron.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { testClient } from '../support/workers.js';
import { eventually, invoiceId, startPaymentWorker, writeTariffs, type PaymentWorker } from './support.js';

const env = testEnv(import.meta.url);
const DAY = 86_400_000;

describe('subscription entity: extended by payments, reminds, deactivates, trial and referrals, continues-as-new', () => {
  const ledger = new TronLedger();
  const merchant = randomTronAddress();
  const dataDir = path.join(process.env.X0T_DATA_DIR!, 'subscription-test');
  let trongrid: StandinServer;
  let tronscan: StandinServer;
  let worker: PaymentWorker;
  let client: Client;
  let connection: Connection;

  const payInvoice = async (customerId: string) => {
    const id = invoiceId('sub');
    const h = await client.workflow.start(paymentConfirmation, { workflowId: id, taskQueue: worker.taskQueue, args: [{ invoiceId: id, customerId, tierId: 'month', currency: 'USDT_TRC20' }] });
    const inv = await eventually(async () => ((await h.query(invoiceQuery)).invoice.amountBaseUnits ? (await h.query(invoiceQuery)).invoice : undefined), 'pricing');
    ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    await h.executeUpdate(iPaidUpdate);
    const r = await h.result();
    assert.equal(r.status, 'fulfilled');
    return r;
  };
  const notes = (prefix: string) => (fs.existsSync(notificationDir(dataDir)) ? fs.readdirSync(notificationDir(dataDir)) : []).filter((f) => f.startsWith(encodeURIComponent(prefix)) && f.endsWith('.json'));

  before(async () => {
    trongrid = await startTronGrid(ledger);
    tronscan = await startTronScan(ledger);
    // "month" lasts 6 seconds here; remind 3 seconds before the end.
    const tariffsFile = writeTariffs(dataDir, {
      tronMerchant: merchant,
      trongrid: trongrid.url,
      tronscan: tronscan.url,
      days: 6 / 86_400,
      policy: { subscription: { reminderBeforeSeconds: 3, trialDays: 30, referralCreditDays: 30 } },
    });
    worker = await startPaymentWorker(env, { tariffsFile, dataDir });
    ({ client, connection } = await testClient(env));
  });
  after(async () => {
    await worker?.stop();
    await connection?.close();
    await trongrid?.close();
    await tronscan?.close();
  });

  test('a payment activates it; the customer is reminded before expiry, then it deactivates at expiry', async () => {
    const customerId = `c-life-${Date.now()}`;
    const paid = await payInvoice(customerId);
    const handle = client.workflow.getHandle(subscriptionWorkflowId(customerId));
    const active = await handle.query(subscriptionQuery);
    assert.equal(active.active, true);
    assert.equal(active.activeUntil, paid.accessExpiresAt);
    assert.deepEqual(notes(`${customerId}/reminder/`), [], 'no reminder yet');
    await eventually(async () => notes(`${customerId}/reminder/`).length === 1, 'the reminder', 10_000);
    assert.equal((await handle.query(subscriptionQuery)).active, true, 'still active when reminded');
    await eventually(async () => notes(`${customerId}/expired/`).length === 1, 'the expiry notice', 10_000);
    const ended = await handle.query(subscriptionQuery);
    assert.equal(ended.active, false);
    assert.equal(notes(`${customerId}/reminder/`).length, 1, 'reminded once');
    await recordHistoryIfAsked(env, handle, 'subscription.expired');
  });

  test('the free trial is granted once; a referral credits the referrer once, on the referred customer\'s first payment', async () => {
    const referrer = `c-ref-${Date.now()}`;
    const customer = `c-new-${Date.now()}`;
    const trial = () =>
      client.workflow.executeUpdateWithStart(requestTrialUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation(subscription, { workflowId: subscriptionWorkflowId(referrer), taskQueue: worker.taskQueue, args: [{ customerId: referrer }], workflowIdConflictPolicy: 'USE_EXISTING' }),
      });
    const granted = await trial();
    assert.equal(granted.granted, true);
    assert.equal(granted.view.trialUsed, true);
    const again = await trial();
    assert.equal(again.granted, false);
    const untilAfterTrial = Date.parse(again.view.activeUntil!);

    const c = await client.workflow.start(subscription, { workflowId: subscriptionWorkflowId(customer), taskQueue: worker.taskQueue, args: [{ customerId: customer }] });
    assert.equal((await c.executeUpdate(setReferrerUpdate, { args: [{ referrerId: customer }] })).accepted, false, 'no self-referral');
    assert.equal((await c.executeUpdate(setReferrerUpdate, { args: [{ referrerId: referrer }] })).accepted, true);
    assert.equal((await c.executeUpdate(setReferrerUpdate, { args: [{ referrerId: 'someone' }] })).accepted, false, 'first referrer wins');
    await payInvoice(customer);
    await payInvoice(customer);
    const r = await eventually(async () => {
      const v = await client.workflow.getHandle(subscriptionWorkflowId(referrer)).query(subscriptionQuery);
      return v.referralCreditsGranted > 0 ? v : undefined;
    }, 'the referral credit');
    assert.equal(r.referralCreditsGranted, 1, 'credited once for two payments');
    assert.ok(Math.abs(Date.parse(r.activeUntil!) - untilAfterTrial - 30 * DAY) < 1000, 'extended by the referral credit');
  });

  test('it continues-as-new when its history grows, keeping its state and per-invoice idempotency', async () => {
    const customerId = `c-can-${Date.now()}`;
    const handle = await client.workflow.start(subscription, { workflowId: subscriptionWorkflowId(customerId), taskQueue: worker.taskQueue, args: [{ customerId, continueAsNewAfterEvents: 40 }] });
    const firstRun = (await handle.describe()).runId;
    for (let i = 0; i < 30; i++) await handle.signal(extendSubscriptionSignal, { invoiceId: `inv-${i}`, tierId: 'month', days: 1 });
    const v = await eventually(async () => {
      const view = await client.workflow.getHandle(subscriptionWorkflowId(customerId)).query(subscriptionQuery);
      return view.paidInvoices.length === 30 ? view : undefined;
    }, 'all extensions');
    const latest = client.workflow.getHandle(subscriptionWorkflowId(customerId));
    assert.notEqual((await latest.describe()).runId, firstRun, 'a new run after continue-as-new');
    await latest.signal(extendSubscriptionSignal, { invoiceId: 'inv-3', tierId: 'month', days: 1 });
    const after = await latest.query(subscriptionQuery);
    assert.equal(after.activeUntil, v.activeUntil, 'a repeated invoice does not extend again');
    assert.ok(Math.abs(Date.parse(after.activeUntil!) - Date.now() - 30 * DAY) < 60_000, '30 one-day extensions');
    await latest.terminate('test done');
  });
});
