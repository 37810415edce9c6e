/**
 * Shared setup of the payment tests: a tariff file pointing at the local stand-ins with a fast
 * policy, and an in-process worker (its own task queue) serving the payment workflows and
 * activities against the test's namespace.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { stringify } from 'yaml';
import { createLogger } from '../../common/logger.js';
import { createPaymentActivities } from '../../activities/control/payments/index.js';
import type { TestEnv } from '../support/env.js';

export interface TariffOptions {
  tronMerchant?: string;
  tonMerchant?: string;
  trongrid?: string;
  tronscan?: string;
  toncenter?: string;
  tonapi?: string;
  usdtContract?: string;
  policy?: Record<string, unknown>;
  days?: number;
  /** Per-request provider timeout (default 1500 ms: the stand-ins answer at once). */
  providersTimeoutMs?: number;
}

/** Writes a tariff YAML for the tests and returns its path. */
export function writeTariffs(dir: string, o: TariffOptions): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tariffs-${crypto.randomUUID()}.yaml`);
  const doc = {
    tiers: [
      { id: 'month', title: '1 month', days: o.days ?? 30, price: { USDT_TRC20: '10', TON: '2.5' } },
      { id: 'year', title: '12 months', days: 365, price: { USDT_TRC20: '96', TON: '23' } },
    ],
    merchants: {
      USDT_TRC20: { address: o.tronMerchant ?? '', usdtContract: o.usdtContract ?? 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' },
      TON: { address: o.tonMerchant ?? '' },
    },
    policy: {
      invoiceTtlSeconds: 600,
      lateWindowSeconds: 30,
      acceptLate: false,
      tolerance: { USDT_TRC20: '0', TON: '0.01' },
      uniqueAmountSlots: 10000,
      poll: { initialSeconds: 0.5, maxSeconds: 2, backoffCoefficient: 1.5, verifyingSeconds: 0.5 },
      // No chain watcher unless a test asks for one: the tests that count provider requests or inject
      // faults see only their invoices' own checks (test/payments/pay-watcher.test.ts covers the watcher).
      watch: { intervalSeconds: 0, lookbackSeconds: 600, runSeconds: 300 },
      subscription: { reminderBeforeSeconds: 3 * 86400, trialDays: 30, referralCreditDays: 30 },
      ...o.policy,
    },
    providers: {
      timeoutMs: o.providersTimeoutMs ?? 1500,
      tron: { trongrid: o.trongrid ?? 'http://127.0.0.1:9', tronscan: o.tronscan ?? 'http://127.0.0.1:9' },
      ton: { toncenter: o.toncenter ?? 'http://127.0.0.1:9/api/v2/jsonRPC', tonapi: o.tonapi ?? 'http://127.0.0.1:9' },
    },
  };
  fs.writeFileSync(file, stringify(doc));
  return file;
}

export interface PaymentWorker {
  taskQueue: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** An in-process worker with the payment workflows and activities on a fresh task queue. */
export async function startPaymentWorker(env: TestEnv, opts: { tariffsFile: string; dataDir: string; taskQueue?: string }): Promise<PaymentWorker> {
  const taskQueue = opts.taskQueue ?? `pay-${crypto.randomUUID().slice(0, 8)}`;
  const connection = await NativeConnection.connect({ address: env.address });
  const worker = await Worker.create({
    connection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: { codePath: env.workflowBundlePath },
    activities: createPaymentActivities({ dataDir: opts.dataDir, logger: createLogger('test', 'error'), tariffsFile: opts.tariffsFile }),
  });
  const running = worker.run();
  return {
    taskQueue,
    dataDir: opts.dataDir,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** A unique invoice id for a test. */
export const invoiceId = (label: string) => `INV-${label}-${crypto.randomUUID().slice(0, 8)}`;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// Keep the SDK's own INFO/WARN chatter (worker state changes, retried activities) out of the test report.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // already installed by an earlier import in this process
}
