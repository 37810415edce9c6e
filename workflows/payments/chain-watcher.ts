/**
 * `chainWatcher` (id chainWatcherWorkflowId: one per currency, merchant address and task queue):
 * makes payments confirm within seconds without "I paid" and without every open invoice polling
 * the chain often. It runs the watchChainTransfers activity back to back (each run scans every few
 * seconds for a few minutes, heartbeating its cursor) and continues-as-new after a bounded number
 * of runs. Started by the first invoice that needs it (ensureChainWatcher, idempotent); it ends
 * itself when the merchant address changes or watching is turned off. Invoices never depend on it:
 * their own timer polls stay as the fallback.
 */
import { continueAsNew, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/control/payments/index.js';
import type { Currency } from './contract.js';

export interface ChainWatcherInput {
  currency: Currency;
  merchantAddress: string;
  /** Carried across continue-as-new. */
  cursor?: string;
  handled?: string[];
  totals?: WatcherTotals;
}

export interface WatcherTotals {
  scans: number;
  failedScans: number;
  nudged: number;
  alreadySettled: number;
  unmatched: number;
}

/** Totals over the watcher's finished runs (the running run's progress is its activity's heartbeat). */
export const watcherStatusQuery = defineQuery<ChainWatcherInput & { runs: number }>('watcherStatus');

/** Runs per workflow history: each adds a handful of events; ~8 h at 5 minutes a run. */
const RUNS_PER_HISTORY = 100;

const { watchChainTransfers } = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '10 minutes',
  // A scan may take a while (two providers, paginated, up to providers.timeoutMs a request).
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

export async function chainWatcher(input: ChainWatcherInput): Promise<{ retired: string } & WatcherTotals> {
  let cursor = input.cursor;
  let handled = input.handled ?? [];
  const totals: WatcherTotals = { ...{ scans: 0, failedScans: 0, nudged: 0, alreadySettled: 0, unmatched: 0 }, ...input.totals };
  let runs = 0;
  setHandler(watcherStatusQuery, () => ({ currency: input.currency, merchantAddress: input.merchantAddress, cursor, totals: { ...totals }, runs }));
  for (; runs < RUNS_PER_HISTORY; runs++) {
    const r = await watchChainTransfers({ currency: input.currency, merchantAddress: input.merchantAddress, cursor, handled });
    cursor = r.cursor;
    handled = r.handled;
    totals.scans += r.scans;
    totals.failedScans += r.failedScans;
    totals.nudged += r.nudged;
    totals.alreadySettled += r.alreadySettled;
    totals.unmatched += r.unmatched;
    if (r.retired) return { retired: r.retired, ...totals };
  }
  return continueAsNew<typeof chainWatcher>({ currency: input.currency, merchantAddress: input.merchantAddress, cursor, handled, totals });
}
