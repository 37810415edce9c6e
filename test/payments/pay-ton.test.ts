import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { Address, comment, toNano } from '@ton/core';
import { Blockchain, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { loadSigningKey, publicKeyPem, verifyAccessKey } from '../../activities/control/payments/access-key.js';
import { TonapiProvider, ToncenterProvider } from '../../activities/control/payments/ton.js';
import { iPaidUpdate, invoiceQuery, subscriptionQuery, subscriptionWorkflowId } from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import { startTonapi, startToncenter, TonTxStore } from '../standins/ton.js';
import type { StandinServer } from '../standins/http.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { testClient } from '../support/workers.js';
import { eventually, invoiceId, startPaymentWorker, writeTariffs, type PaymentWorker } from './support.js';

const env = testEnv(import.meta.url);

describe('TON payments against @ton/sandbox through the toncenter and tonapi stand-ins', () => {
  let bc: Blockchain;
  let merchant: SandboxContract<TreasuryContract>;
  let payer: SandboxContract<TreasuryContract>;
  const store = new TonTxStore();
  let toncenter: StandinServer & { endpoint: string };
  let tonapi: StandinServer;
  let worker: PaymentWorker;
  let client: Client;
  let connection: Connection;
  const dataDir = path.join(process.env.X0T_DATA_DIR!, 'ton-test');

  const pay = async (to: Address, amount: string, text: string, bounce = false) => {
    const res = await payer.send({ to, value: toNano(amount), body: comment(text), bounce });
    store.add(res.transactions);
    return res;
  };
  const query = (inv: string, to: Address = merchant.address) => ({
    invoiceId: inv,
    currency: 'TON' as const,
    merchantAddress: to.toString(),
    amountBaseUnits: toNano('2.5').toString(),
    comment: inv,
    windowStartMs: Date.now() - 60_000,
    windowEndMs: Date.now() + 60_000,
  });
  const start = async (label: string) => {
    const id = invoiceId(label);
    const handle = await client.workflow.start(paymentConfirmation, {
      workflowId: id,
      taskQueue: worker.taskQueue,
      args: [{ invoiceId: id, customerId: `c-${label}`, tierId: 'month', currency: 'TON' }],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    const inv = await eventually(async () => {
      const v = await handle.query(invoiceQuery);
      return v.invoice.amountBaseUnits ? v.invoice : undefined;
    }, 'the invoice to be priced');
    return { handle, inv };
  };

  before(async () => {
    bc = await Blockchain.create();
    merchant = await bc.treasury('merchant');
    payer = await bc.treasury('payer');
    toncenter = await startToncenter(store);
    tonapi = await startTonapi(store);
    const tariffs = writeTariffs(dataDir, { tonMerchant: merchant.address.toString({ bounceable: false }), toncenter: toncenter.endpoint, tonapi: tonapi.url });
    worker = await startPaymentWorker(env, { tariffsFile: tariffs, dataDir });
    ({ client, connection } = await testClient(env));
  });
  after(async () => {
    await worker?.stop();
    await connection?.close();
    await toncenter?.close();
    await tonapi?.close();
  });

  test('both providers report a real transfer with the invoice comment, and nothing for a wrong comment or another recipient', async () => {
    const other = await bc.treasury('someone-else');
    await pay(merchant.address, '2.5', 'INV-good-1');
    await pay(merchant.address, '2.5', 'INV-other-1');
    await pay(other.address, '2.5', 'INV-elsewhere-1');
    for (const p of [new ToncenterProvider({ endpoint: toncenter.endpoint, timeoutMs: 2000, pageSize: 2 }), new TonapiProvider({ endpoint: tonapi.url, timeoutMs: 2000, pageSize: 2 })]) {
      const good = (await p.findPayments(query('INV-good-1'))).observations;
      assert.equal(good.length, 1, `${p.name} finds the payment`);
      assert.equal(good[0]!.amountBaseUnits, toNano('2.5').toString());
      assert.equal(good[0]!.final, true);
      assert.deepEqual((await p.findPayments(query('INV-wrong-comment'))).observations, [], `${p.name}: a different comment pays nothing`);
      assert.deepEqual((await p.findPayments(query('INV-elsewhere-1'))).observations, [], `${p.name}: a transfer to someone else pays nothing`);
    }
  });

  test('a check resumes where the previous one stopped (logical-time cursor): a later payment is found, nothing is read twice', async () => {
    for (const p of [new ToncenterProvider({ endpoint: toncenter.endpoint, timeoutMs: 2000, pageSize: 2 }), new TonapiProvider({ endpoint: tonapi.url, timeoutMs: 2000, pageSize: 2 })]) {
      const inv = `INV-cursor-${p.name}`;
      const first = await p.findPayments(query(inv));
      assert.deepEqual(first.observations, []);
      assert.match(first.cursor ?? '', /^\d+$/);
      await pay(merchant.address, '2.5', inv);
      const second = await p.findPayments({ ...query(inv), sinceCursor: first.cursor });
      assert.equal(second.observations.length, 1, `${p.name} finds the payment after the cursor`);
      assert.ok(BigInt(second.cursor!) > BigInt(first.cursor!));
      assert.deepEqual((await p.findPayments({ ...query(inv), sinceCursor: second.cursor })).observations, [], 'already read');
    }
  });

  test('bounced transfers are never payments: to an undeployed wallet (aborted, value sent back) and a bounce arriving at us', async () => {
    const undeployed = new Address(0, Buffer.alloc(32, 7));
    const res = await pay(undeployed, '2.5', 'INV-bounce-1', true);
    assert.ok(res.transactions.some((t) => t.inMessage?.info.type === 'internal' && t.inMessage.info.bounced), 'the sandbox bounced the value back');
    const ourBounce = await merchant.send({ to: new Address(0, Buffer.alloc(32, 9)), value: toNano('1'), body: comment('INV-bounce-2'), bounce: true });
    store.add(ourBounce.transactions);
    for (const p of [new ToncenterProvider({ endpoint: toncenter.endpoint, timeoutMs: 2000 }), new TonapiProvider({ endpoint: tonapi.url, timeoutMs: 2000 })]) {
      assert.deepEqual((await p.findPayments(query('INV-bounce-1', undeployed))).observations, [], `${p.name}: aborted transfer to an undeployed wallet`);
      assert.deepEqual((await p.findPayments(query('INV-bounce-2'))).observations, [], `${p.name}: a bounced message arriving at us`);
    }
  });

  test('happy path: pay 2.5 TON with the invoice id as comment, "I paid" confirms, a verifiable access key is issued and delivered', async () => {
    const { handle, inv } = await start('happy');
    assert.equal(inv.comment, inv.invoiceId);
    assert.equal(inv.amountBaseUnits, toNano('2.5').toString());
    assert.ok(Address.parse(inv.merchantAddress).equals(merchant.address));
    await pay(merchant.address, '2.5', inv.invoiceId);
    const afterPaid = await handle.executeUpdate(iPaidUpdate);
    assert.ok(['confirmed', 'fulfilled'].includes(afterPaid.status), `status after "I paid": ${afterPaid.status}`);
    const done = await handle.result();
    assert.equal(done.status, 'fulfilled');
    assert.match(done.txHash!, /^[0-9a-f]{64}$/);
    const claims = verifyAccessKey(done.accessKey!, publicKeyPem(loadSigningKey(dataDir)));
    assert.ok(claims, 'the access key verifies with the public key');
    assert.equal(claims.inv, inv.invoiceId);
    assert.equal(claims.tier, 'month');
    assert.ok(Date.parse(claims.exp) > Date.now() + 29 * 86_400_000);
    const note = JSON.parse(fs.readFileSync(path.join(dataDir, 'payments', 'notifications', `${encodeURIComponent(inv.invoiceId + '/access-key')}.json`), 'utf8'));
    assert.equal(note.data.accessKey, done.accessKey);
    await recordHistoryIfAsked(env, handle, 'paymentConfirmation.ton');
  });

  test('underpaid and overpaid beyond the 0.01 TON tolerance end the invoice as such; within tolerance confirms', async () => {
    const under = await start('under');
    const over = await start('over');
    const near = await start('near');
    await pay(merchant.address, '2.0', under.inv.invoiceId);
    await pay(merchant.address, '3.0', over.inv.invoiceId);
    await pay(merchant.address, '2.495', near.inv.invoiceId);
    await Promise.all([under, over, near].map((x) => x.handle.executeUpdate(iPaidUpdate)));
    const [u, o, n] = await Promise.all([under.handle.result(), over.handle.result(), near.handle.result()]);
    assert.equal(u.status, 'underpaid');
    assert.match(u.reason!, /received 2 TON of 2\.5 TON/);
    assert.equal(u.accessKey, undefined);
    assert.equal(o.status, 'overpaid');
    assert.equal(n.status, 'fulfilled');
  });

  test('a second start with the id of an open invoice is rejected; an unknown tier fails the invoice at once as InvalidInput', async () => {
    const { handle, inv } = await start('dup');
    await assert.rejects(
      client.workflow.start(paymentConfirmation, { workflowId: inv.invoiceId, taskQueue: worker.taskQueue, args: [{ invoiceId: inv.invoiceId, customerId: 'c-dup', tierId: 'month', currency: 'TON' }] }),
      WorkflowExecutionAlreadyStartedError,
    );
    await handle.terminate('test done');
    const bad = invoiceId('badtier');
    const err = await client.workflow
      .execute(paymentConfirmation, { workflowId: bad, taskQueue: worker.taskQueue, args: [{ invoiceId: bad, customerId: 'c-bad', tierId: 'platinum', currency: 'TON' }] })
      .then(() => undefined, (e: Error) => e);
    assert.ok(err instanceof WorkflowFailedError);
    let cause: (Error & { type?: string; cause?: unknown }) | undefined = err;
    while (cause && cause.type !== 'InvalidInput') cause = cause.cause as typeof cause;
    assert.equal(cause?.type, 'InvalidInput');
    assert.match(cause?.message ?? '', /unknown tier "platinum"/);
    const attempts = (await client.workflow.getHandle(bad).fetchHistory()).events!.filter((e) => e.markerRecordedEventAttributes).length;
    assert.equal(attempts, 1, 'not retried');
  });

  test('toncenter down (503): tonapi answers and the invoice confirms; with toncenter back it answers again', async () => {
    toncenter.fault({ status: 503 });
    try {
      const { handle, inv } = await start('failover');
      await pay(merchant.address, '2.5', inv.invoiceId);
      const before = tonapi.requests.length;
      const v = await handle.executeUpdate(iPaidUpdate);
      assert.ok(['confirmed', 'fulfilled'].includes(v.status), v.status);
      assert.ok(tonapi.requests.length > before, 'the fallback was asked');
    } finally {
      toncenter.fault(undefined);
    }
    const { handle, inv } = await start('back');
    await pay(merchant.address, '2.5', inv.invoiceId);
    const tonapiBefore = tonapi.requests.length;
    assert.ok(['confirmed', 'fulfilled'].includes((await handle.executeUpdate(iPaidUpdate)).status));
    assert.equal(tonapi.requests.length, tonapiBefore, 'the primary answered once it was back');
  });

  test('a second run of a paid invoice id (e.g. started again by a client) credits nothing new: same key, no extra subscription time', async () => {
    const { handle, inv } = await start('rerun');
    await pay(merchant.address, '2.5', inv.invoiceId);
    await handle.executeUpdate(iPaidUpdate);
    const first = await handle.result();
    assert.equal(first.status, 'fulfilled');
    const sub = client.workflow.getHandle(subscriptionWorkflowId('c-rerun'));
    const before = await sub.query(subscriptionQuery);
    // The first run closed; a buggy client starts the same invoice again (default reuse policy).
    const again = await client.workflow.start(paymentConfirmation, {
      workflowId: inv.invoiceId,
      taskQueue: worker.taskQueue,
      args: [{ invoiceId: inv.invoiceId, customerId: 'c-rerun', tierId: 'month', currency: 'TON' }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    await again.executeUpdate(iPaidUpdate);
    const second = await again.result();
    assert.equal(second.txHash, first.txHash, 'the transaction stays this invoice\'s (the ledger owner is the invoice id)');
    assert.equal(second.accessKey, first.accessKey, 'the key issued for the invoice, not a second one');
    const afterRerun = await sub.query(subscriptionQuery);
    assert.equal(afterRerun.activeUntil, before.activeUntil, 'no second extension');
    assert.deepEqual(afterRerun.paidInvoices, [inv.invoiceId]);
  });
});
