import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPaymentActivities } from '../../activities/control/payments/index.js';
import { TronGridProvider } from '../../activities/control/payments/tron.js';
import { createLogger } from '../../common/logger.js';
import { amountClaimOwnerQuery, amountClaimWorkflowId, txClaim, txClaimWorkflowId } from '../../workflows/payments/claims.js';
import { iPaidUpdate, invoiceQuery, type Invoice } from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import type { StandinServer } from '../standins/http.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger, USDT_CONTRACT } from '../standins/tron.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { testClient } from '../support/workers.js';
import { eventually, invoiceId, startPaymentWorker, writeTariffs, type PaymentWorker } from './support.js';

const env = testEnv(import.meta.url);

describe('USDT TRC-20 payments against the TronGrid and TronScan stand-ins', () => {
  const ledger = new TronLedger();
  const merchant = randomTronAddress();
  let trongrid: StandinServer;
  let tronscan: StandinServer;
  let worker: PaymentWorker;
  let shortWorker: PaymentWorker;
  let client: Client;
  let connection: Connection;
  const dataDir = path.join(process.env.X0T_DATA_DIR!, 'tron-test');

  const start = async (label: string, w: PaymentWorker = worker): Promise<{ handle: WorkflowHandle<typeof paymentConfirmation>; inv: Invoice }> => {
    const id = invoiceId(label);
    const handle = await client.workflow.start(paymentConfirmation, {
      workflowId: id,
      taskQueue: w.taskQueue,
      args: [{ invoiceId: id, customerId: `c-${label}`, tierId: 'month', currency: 'USDT_TRC20' }],
    });
    const inv = await eventually(async () => {
      const v = await handle.query(invoiceQuery);
      return v.invoice.amountBaseUnits ? v.invoice : undefined;
    }, 'the invoice to be priced');
    return { handle, inv };
  };
  const iPaid = async (h: WorkflowHandle<typeof paymentConfirmation>) => (await h.executeUpdate(iPaidUpdate)).status;

  before(async () => {
    trongrid = await startTronGrid(ledger);
    tronscan = await startTronScan(ledger);
    const common = { tronMerchant: merchant, trongrid: trongrid.url, tronscan: tronscan.url };
    worker = await startPaymentWorker(env, { tariffsFile: writeTariffs(dataDir, common), dataDir });
    shortWorker = await startPaymentWorker(env, { tariffsFile: writeTariffs(dataDir, { ...common, policy: { invoiceTtlSeconds: 2, lateWindowSeconds: 20 } }), dataDir });
    ({ client, connection } = await testClient(env));
  });
  after(async () => {
    await Promise.all([worker?.stop(), shortWorker?.stop()]);
    await connection?.close();
    await trongrid?.close();
    await tronscan?.close();
  });

  test('happy path: a unique amount; the transfer is "verifying" until solidified, then confirmed and fulfilled', async () => {
    const { handle, inv } = await start('happy');
    const amount = BigInt(inv.amountBaseUnits);
    assert.ok(amount > 10_000_000n && amount < 10_010_000n, `10 USDT plus a unique offset: ${inv.amountDisplay}`);
    assert.equal(inv.merchantAddress, merchant);
    assert.equal(inv.comment, undefined);
    const t = ledger.add({ to: merchant, value: inv.amountBaseUnits });
    assert.equal(await iPaid(handle), 'verifying');
    ledger.solidify(t.txId);
    assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
    const done = await handle.result();
    assert.equal(done.status, 'fulfilled');
    assert.equal(done.txHash, t.txId);
    assert.ok(done.accessKey?.startsWith('x0t1.'));
    await recordHistoryIfAsked(env, handle, 'paymentConfirmation.usdt');
  });

  test('open invoices get distinct amounts', async () => {
    const opened = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map((l) => start(l)));
    assert.equal(new Set(opened.map((o) => o.inv.amountBaseUnits)).size, opened.length);
    const held = client.workflow.getHandle(amountClaimWorkflowId('USDT_TRC20', merchant, opened[0]!.inv.amountBaseUnits));
    assert.deepEqual(await held.query(amountClaimOwnerQuery), { invoiceId: opened[0]!.inv.invoiceId }, 'the amount is held by its invoice');
    await recordHistoryIfAsked(env, held, 'amountClaim');
    await Promise.all(opened.map((o) => o.handle.terminate('test done')));
  });

  test('a fake token with the USDT symbol, a transfer to someone else, and a reverted USDT transfer pay nothing; the real one does', async () => {
    const { handle, inv } = await start('fake');
    const fake = ledger.add({ to: merchant, value: inv.amountBaseUnits, contract: randomTronAddress(), symbol: 'USDT', name: 'Tether USD' });
    const elsewhere = ledger.add({ to: randomTronAddress(), value: inv.amountBaseUnits });
    const reverted = ledger.add({ to: merchant, value: inv.amountBaseUnits, result: 'REVERT' });
    for (const t of [fake, elsewhere, reverted]) ledger.solidify(t.txId);
    assert.equal(await iPaid(handle), 'awaiting');
    const real = ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
    assert.equal((await handle.result()).txHash, real.txId);
  });

  test('TronGrid pages with the fingerprint: the payment behind 250 other transfers is found', async () => {
    const { handle, inv } = await start('pages');
    const t0 = Date.now();
    for (let i = 0; i < 250; i++) ledger.add({ to: merchant, value: String(1_000_000 + i), solidified: true, timestampMs: t0 + i });
    const t = ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true, timestampMs: t0 + 300 });
    const provider = new TronGridProvider({ baseUrl: trongrid.url, usdtContract: USDT_CONTRACT, timeoutMs: 2000 });
    const seen = trongrid.requests.length;
    const found = await provider.findPayments({ invoiceId: inv.invoiceId, currency: 'USDT_TRC20', merchantAddress: merchant, amountBaseUnits: inv.amountBaseUnits, windowStartMs: t0 - 1, windowEndMs: t0 + 1000 });
    assert.deepEqual(found.observations.map((f) => [f.txHash, f.final]), [[t.txId, true]]);
    assert.ok(trongrid.requests.slice(seen).some((r) => r.includes('fingerprint=')), 'a second page was fetched by fingerprint');
    assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
  });

  test('TronGrid down (503, then hanging) is survived through TronScan; a single 429 is retried on TronGrid itself', async () => {
    trongrid.fault({ status: 503 });
    try {
      const { handle, inv } = await start('down');
      ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
      const scanBefore = tronscan.requests.length;
      assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
      assert.ok(tronscan.requests.length > scanBefore, 'TronScan answered');
      trongrid.fault({ hang: true });
      const slow = await start('hang');
      ledger.add({ to: merchant, value: slow.inv.amountBaseUnits, solidified: true });
      assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(slow.handle)));
    } finally {
      trongrid.fault(undefined);
    }
    const { handle, inv } = await start('throttled');
    ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    trongrid.fault({ status: 429, remaining: 1 });
    const scanBefore = tronscan.requests.length;
    assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
    assert.equal(tronscan.requests.length, scanBefore, 'TronGrid answered after its own retry');
  });

  test('payment after expiry: the invoice shows expired, a late transfer is seen and rejected by policy (no key)', async () => {
    const { handle, inv } = await start('late', shortWorker);
    await eventually(async () => (await handle.query(invoiceQuery)).status === 'expired', 'the invoice to expire', 10_000);
    ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    assert.equal(await iPaid(handle), 'rejected');
    const done = await handle.result();
    assert.match(done.reason!, /after the invoice expired/);
    assert.equal(done.accessKey, undefined);
  });

  test('the same transaction offered to twenty invoices at once is claimed by exactly one; the winner\'s retry is still its own', async () => {
    const acts = createPaymentActivities({ dataDir, logger: createLogger('test', 'error') });
    const txHash = 'ab'.repeat(32);
    const claimAs = (invoiceId: string): Promise<{ claimed: boolean; owner?: string }> => new MockActivityEnvironment({ taskQueue: worker.taskQueue }, { client }).run(acts.claimTransaction, { invoiceId, currency: 'USDT_TRC20' as const, txHash });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claimAs(`INV-race-${i}`)));
    const winners = results.filter((r) => r.claimed);
    assert.equal(winners.length, 1, 'one owner');
    assert.ok(results.every((r) => r.owner === winners[0]!.owner), 'every loser is told who owns it');
    assert.deepEqual(await claimAs(winners[0]!.owner!), { claimed: true, owner: winners[0]!.owner });
  });

  test('a transaction already claimed by another invoice is never credited; the next matching transfer is', async () => {
    const { handle, inv } = await start('claimed');
    const t = ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    // Another invoice owns this transaction in the ledger.
    const claim = await client.workflow.start(txClaim, { workflowId: txClaimWorkflowId('USDT_TRC20', t.txId), taskQueue: worker.taskQueue, args: [{ invoiceId: 'INV-someone-else', txHash: t.txId, currency: 'USDT_TRC20' }] });
    await recordHistoryIfAsked(env, claim, 'txClaim');
    assert.equal(await iPaid(handle), 'awaiting');
    const t2 = ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });
    assert.ok(['confirmed', 'fulfilled'].includes(await iPaid(handle)));
    assert.equal((await handle.result()).txHash, t2.txId);
  });
});
