import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { loadDevServerSpec } from '../../common/dev-server-spec.js';
import { startDevServer, type DevServer } from '../../common/dev-server.js';
import { freePort } from '../../common/net.js';
import { iPaidUpdate, invoiceQuery } from '../../workflows/payments/contract.js';
import { paymentConfirmation } from '../../workflows/payments/payment-confirmation.js';
import { randomTronAddress, startTronGrid, startTronScan, TronLedger } from '../standins/tron.js';
import { testEnv, type TestEnv } from '../support/env.js';
import { eventually, invoiceId, startPaymentWorker, writeTariffs, type PaymentWorker } from './support.js';

const shared = testEnv(import.meta.url);

// The shared server of the run serves every test file at once, so this test restarts a private
// dev server of its own (same SQLite file, same port) instead.
describe('the Temporal dev server restarted mid-invoice', () => {
  let server: DevServer | undefined;
  let worker: PaymentWorker | undefined;
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    await worker?.stop();
    await server?.stop();
    for (const c of closers.reverse()) await c();
  });

  test('the invoice resumes from its stored history and confirms the payment made while the server was down', async () => {
    const workDir = path.join(process.env.X0T_TEST_WORK_DIR!, 'restart-test');
    const spec = loadDevServerSpec();
    spec.port = await freePort(spec.ip);
    spec.ui = { enabled: false, port: 0 };
    spec.metricsPort = 0;
    spec.dbFilename = path.join(workDir, 'temporal.sqlite');
    spec.logLevel = 'error';
    spec.extraNamespaces = [];
    const logFile = path.join(workDir, 'server.log');
    const ledger = new TronLedger();
    const trongrid = await startTronGrid(ledger);
    const tronscan = await startTronScan(ledger);
    closers.push(() => trongrid.close(), () => tronscan.close());
    const merchant = randomTronAddress();
    const dataDir = path.join(workDir, 'data');
    const tariffsFile = writeTariffs(dataDir, { tronMerchant: merchant, trongrid: trongrid.url, tronscan: tronscan.url });

    server = await startDevServer(spec, { logFile });
    const env: TestEnv = { address: server.address, namespace: server.namespace, workflowBundlePath: shared.workflowBundlePath };
    worker = await startPaymentWorker(env, { tariffsFile, dataDir, taskQueue: 'restart-q' });
    let connection = await Connection.connect({ address: env.address });
    let client = new Client({ connection, namespace: env.namespace });
    const id = invoiceId('restart');
    const handle = await client.workflow.start(paymentConfirmation, { workflowId: id, taskQueue: 'restart-q', args: [{ invoiceId: id, customerId: 'c-restart', tierId: 'month', currency: 'USDT_TRC20' }] });
    const inv = await eventually(async () => {
      const v = await handle.query(invoiceQuery);
      return v.invoice.amountBaseUnits ? v.invoice : undefined;
    }, 'the invoice to be priced');
    const runId = (await handle.describe()).runId;

    await worker.stop();
    worker = undefined;
    await connection.close();
    await server.stop();
    server = undefined;

    // Paid while Temporal was down.
    const t = ledger.add({ to: merchant, value: inv.amountBaseUnits, solidified: true });

    server = await startDevServer(spec, { logFile });
    worker = await startPaymentWorker(env, { tariffsFile, dataDir, taskQueue: 'restart-q' });
    connection = await Connection.connect({ address: env.address });
    closers.push(() => connection.close());
    client = new Client({ connection, namespace: env.namespace });
    const resumed = client.workflow.getHandle<typeof paymentConfirmation>(id);
    assert.equal((await resumed.describe()).runId, runId, 'the same run, not a new one');
    assert.deepEqual((await resumed.query(invoiceQuery)).invoice, inv, 'the invoice (amount, address, expiry) survived');
    assert.ok(['confirmed', 'fulfilled'].includes((await resumed.executeUpdate(iPaidUpdate)).status));
    const done = await resumed.result();
    assert.equal(done.status, 'fulfilled');
    assert.equal(done.txHash, t.txId);
  });
});
