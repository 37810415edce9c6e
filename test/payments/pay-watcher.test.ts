import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { comment, toNano } from '@ton/core';
import { Blockchain, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { TonapiProvider, ToncenterProvider } from '../../activities/control/payments/ton.js';
import { TronGridProvider, TronScanProvider } from '../../activities/control/payments/tron.js';
import { chainWatcher, watcherStatusQuery } from '../../workflows/payments/chain-watcher.js';
import { chainWatcherWorkflowId, invoiceQuery, subscriptionWorkflowId, type Currency, type Invoice } from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import type { StandinServer } from '../standins/http.js';
import { startTonapi, startToncenter, TonTxStore } from '../standins/ton.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger } from '../standins/tron.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { testClient } from '../support/workers.js';
import { eventually, invoiceId, startPaymentWorker, writeTariffs, type PaymentWorker } from './support.js';

const env = testEnv(import.meta.url);

/**
 * The chain watcher: payments confirm without "I paid" while the invoices' own polls are far off
 * (initialSeconds 600), for both currencies, through the fallback provider when the primary is
 * down; strangers' transfers nudge nobody; the watcher ends itself when the merchant changes.
 */
describe('chain watcher: payments confirm within seconds without "I paid" and without fast polls', () => {
  const ledger = new TronLedger();
  const tronMerchant = randomTronAddress();
  const store = new TonTxStore();
  let bc: Blockchain;
  let merchant: SandboxContract<TreasuryContract>;
  let payer: SandboxContract<TreasuryContract>;
  let tonMerchant: string;
  let trongrid: StandinServer;
  let tronscan: StandinServer;
  let toncenter: StandinServer & { endpoint: string };
  let tonapi: StandinServer;
  let worker: PaymentWorker;
  let client: Client;
  let connection: Connection;
  let tariffsFile: string;
  const dataDir = path.join(process.env.X0T_DATA_DIR!, 'watcher-test');
  const tariffs = (tonAddress: string) =>
    writeTariffs(dataDir, {
      tronMerchant,
      tonMerchant: tonAddress,
      trongrid: trongrid.url,
      tronscan: tronscan.url,
      toncenter: toncenter.endpoint,
      tonapi: tonapi.url,
      // Only the watcher (or "I paid", never pressed here) can make an invoice check within the test.
      policy: { poll: { initialSeconds: 600, maxSeconds: 600, backoffCoefficient: 1, verifyingSeconds: 0.5 }, watch: { intervalSeconds: 0.3, lookbackSeconds: 600, runSeconds: 1 } },
    });

  const payTon = async (text: string, amount = '2.5') => {
    const res = await payer.send({ to: merchant.address, value: toNano(amount), body: comment(text), bounce: false });
    store.add(res.transactions);
  };
  const open = async (label: string, currency: Currency): Promise<{ handle: WorkflowHandle<typeof paymentConfirmation>; inv: Invoice }> => {
    const id = invoiceId(label);
    const handle = await client.workflow.start(paymentConfirmation, { workflowId: id, taskQueue: worker.taskQueue, args: [{ invoiceId: id, customerId: `c-${label}`, tierId: 'month', currency }] });
    const inv = await eventually(async () => {
      const v = await handle.query(invoiceQuery);
      return v.invoice.amountBaseUnits ? v.invoice : undefined;
    }, 'the invoice to be priced');
    return { handle, inv };
  };
  const fulfilled = (h: WorkflowHandle<typeof paymentConfirmation>, what: string) =>
    eventually(async () => ((await h.query(invoiceQuery)).status === 'fulfilled' ? true : undefined), what, 30_000);
  const watcher = (currency: Currency, merchantAddress: string) => client.workflow.getHandle<typeof chainWatcher>(chainWatcherWorkflowId(currency, merchantAddress, worker.taskQueue));
  const signalled = async (workflowId: string) =>
    ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'paymentSeen').length;

  before(async () => {
    bc = await Blockchain.create();
    merchant = await bc.treasury('merchant');
    payer = await bc.treasury('payer');
    tonMerchant = merchant.address.toString({ bounceable: false });
    [trongrid, tronscan, toncenter, tonapi] = await Promise.all([startTronGrid(ledger), startTronScan(ledger), startToncenter(store), startTonapi(store)]);
    tariffsFile = tariffs(tonMerchant);
    worker = await startPaymentWorker(env, { tariffsFile, dataDir });
    ({ client, connection } = await testClient(env));
  });
  after(async () => {
    await worker?.stop();
    await connection?.close();
    await Promise.all([trongrid?.close(), tronscan?.close(), toncenter?.close(), tonapi?.close()]);
  });

  test("every provider lists the merchant's incoming transfers after a cursor: TON with comments, USDT of the real contract only", async () => {
    const sinceMs = Date.now() - 60_000;
    await payTon('INV-list-1');
    const ton = [new ToncenterProvider({ endpoint: toncenter.endpoint, timeoutMs: 2000, pageSize: 2 }), new TonapiProvider({ endpoint: tonapi.url, timeoutMs: 2000, pageSize: 2 })];
    const first = await Promise.all(ton.map((p) => p.listIncoming({ merchantAddress: tonMerchant, sinceMs })));
    for (const [i, scan] of first.entries()) {
      const t = scan.transfers.find((x) => x.comment === 'INV-list-1');
      assert.ok(t, `${ton[i]!.name} lists the transfer with its comment`);
      assert.equal(t.amountBaseUnits, toNano('2.5').toString());
      assert.match(t.txHash, /^[0-9a-f]{64}$/);
    }
    assert.equal(first[0]!.transfers.find((x) => x.comment === 'INV-list-1')!.txHash, first[1]!.transfers.find((x) => x.comment === 'INV-list-1')!.txHash, 'both providers name the transaction by the same hash');
    await payTon('INV-list-2');
    for (const [i, p] of ton.entries()) {
      const next = await p.listIncoming({ merchantAddress: tonMerchant, sinceMs, sinceCursor: first[i]!.cursor });
      assert.deepEqual(next.transfers.map((x) => x.comment), ['INV-list-2'], `${p.name}: only what is newer than the cursor`);
    }

    const fake = randomTronAddress();
    const real = ledger.add({ to: tronMerchant, value: '10000001', solidified: true });
    ledger.add({ to: tronMerchant, value: '10000002', contract: fake, symbol: 'USDT' }); // a fake token with the USDT symbol
    ledger.add({ to: randomTronAddress(), value: '10000003' }); // to someone else
    for (const p of [new TronGridProvider({ baseUrl: trongrid.url, usdtContract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', timeoutMs: 2000, pageSize: 2 }), new TronScanProvider({ baseUrl: tronscan.url, usdtContract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', timeoutMs: 2000, pageSize: 2 })]) {
      const scan = await p.listIncoming({ merchantAddress: tronMerchant, sinceMs });
      assert.deepEqual(scan.transfers.map((x) => [x.txHash, x.amountBaseUnits]), [[real.txId, '10000001']], `${p.name}: the real USDT transfer to us, nothing else`);
      assert.match(scan.cursor ?? '', /^\d+$/);
    }
  });

  test('TON: a transfer with the invoice comment is fulfilled without "I paid"', async () => {
    const { handle, inv } = await open('w-ton', 'TON');
    await payTon(inv.invoiceId);
    await fulfilled(handle, 'the TON invoice to be fulfilled through the watcher');
    assert.ok((await signalled(handle.workflowId)) >= 1, 'the watcher told the invoice to check');
    const status = await eventually(async () => {
      const s = await watcher('TON', tonMerchant).query(watcherStatusQuery);
      return s.totals!.nudged >= 1 ? s : undefined;
    }, 'the watcher to count the nudge');
    assert.match(status.cursor ?? '', /^\d+$/);
    await recordHistoryIfAsked(env, handle, 'paymentConfirmation.watcher');
  });

  test('USDT: a final transfer of the unique amount is fulfilled without "I paid"', async () => {
    const { handle, inv } = await open('w-usdt', 'USDT_TRC20');
    const tx = ledger.add({ to: tronMerchant, value: inv.amountBaseUnits, solidified: true });
    await fulfilled(handle, 'the USDT invoice to be fulfilled through the watcher');
    assert.equal((await handle.query(invoiceQuery)).txHash, tx.txId);
  });

  test("strangers' transfers nudge nobody: an unknown comment, a comment naming another workflow, an amount no invoice holds", async () => {
    const before = (await watcher('TON', tonMerchant).query(watcherStatusQuery)).totals!.unmatched;
    const beforeUsdt = (await watcher('USDT_TRC20', tronMerchant).query(watcherStatusQuery)).totals!.unmatched;
    const otherWorkflow = subscriptionWorkflowId('c-w-ton'); // running: the TON test's customer
    await payTon('hello there');
    await payTon(otherWorkflow);
    ledger.add({ to: tronMerchant, value: '10000000', solidified: true }); // the bare price: no invoice holds it
    await eventually(async () => ((await watcher('TON', tonMerchant).query(watcherStatusQuery)).totals!.unmatched >= before + 2 ? true : undefined), 'the TON watcher to count two unmatched transfers');
    await eventually(async () => ((await watcher('USDT_TRC20', tronMerchant).query(watcherStatusQuery)).totals!.unmatched >= beforeUsdt + 1 ? true : undefined), 'the USDT watcher to count the unmatched transfer');
    assert.equal(await signalled(otherWorkflow), 0, 'a comment naming a subscription does not signal it');
    // The watcher carries on: the next real payment still confirms.
    const { handle, inv } = await open('w-after', 'TON');
    await payTon(inv.invoiceId);
    await fulfilled(handle, 'a later TON invoice to be fulfilled');
  });

  test('the primary provider down: the watcher is answered by the fallback, and payments still confirm', async () => {
    toncenter.fault({ status: 503 });
    try {
      const before = tonapi.requests.length;
      const { handle, inv } = await open('w-failover', 'TON');
      await payTon(inv.invoiceId);
      await fulfilled(handle, 'the TON invoice to be fulfilled with toncenter down');
      assert.ok(tonapi.requests.length > before, 'tonapi answered');
    } finally {
      toncenter.fault(undefined);
    }
  });

  test('a changed merchant address retires its watcher (the workflow ends and says why)', async () => {
    const h = watcher('TON', tonMerchant);
    const other = await bc.treasury('new-merchant');
    fs.copyFileSync(tariffs(other.address.toString({ bounceable: false })), tariffsFile);
    const r = await h.result();
    assert.match(r.retired, /merchant address is no longer/);
    assert.ok(r.nudged >= 3 && r.scans > 0, `totals carried to the end: ${JSON.stringify(r)}`);
    await recordHistoryIfAsked(env, h, 'chainWatcher');
  });
});
