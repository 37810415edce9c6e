/**
 * The chain watcher's scan loop, run as one long activity of the `chainWatcher` workflow (frequent
 * polling belongs in a heartbeating activity, not in workflow timers: one scan every few seconds
 * costs no workflow task and no history events). Every policy.watch.intervalSeconds it lists the
 * merchant's new incoming transfers (primary provider, then fallback) and signals `paymentSeen` to
 * the invoice each may pay: TON by its comment (= invoice id), USDT by its unique amount (the
 * `amountClaim` holding that amount names its invoice as parent). The signal only makes the
 * invoice check now; what pays is still decided by the invoice's own check and the ledger.
 *
 * Progress (cursor, transfers handled) is heartbeated, so a retry after a worker crash resumes
 * where the last scan ended. The activity returns after policy.watch.runSeconds (the workflow
 * starts the next), or early when the merchant address is no longer the configured one or watching is off.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../../../common/logger.js';
import { invalidInput } from '../../errors.js';
import { amountClaimWorkflowId } from '../../../workflows/payments/claims.js';
import { INVOICE_ID_PATTERN, paymentSeenSignal, SETTLED_STATUSES, type Currency } from '../../../workflows/payments/contract.js';
import { InvoiceStatusKey } from '../../../workflows/payments/search-attributes.js';
import { listWithFailover, type ChainProvider, type IncomingTransfer } from './providers.js';
import type { Tariffs } from './tariffs.js';

export interface WatchInput {
  currency: Currency;
  merchantAddress: string;
  /** Where the previous run stopped; absent on the very first run. */
  cursor?: string;
  /** Transfers of the last scan already handled (a TRON scan re-reads a minute of overlap). */
  handled?: string[];
}

export interface WatchProgress {
  cursor?: string;
  handled: string[];
  scans: number;
  /** Scans no provider answered. */
  failedScans: number;
  /** Invoices told to check now. */
  nudged: number;
  /** Transfers to invoices already confirmed or closed by then (nothing to tell). */
  alreadySettled: number;
  /** Transfers that match no open invoice (a stranger's transfer, a wrong comment or amount, a late one). */
  unmatched: number;
}

export interface WatchResult extends WatchProgress {
  /** Why the watcher should stop, when it should. */
  retired?: string;
}

const SETTLED: ReadonlySet<string> = new Set(SETTLED_STATUSES);

export interface ChainWatchDeps {
  logger: Logger;
  tariffs(): Tariffs;
  providers(t: Tariffs, currency: Currency): ChainProvider[];
}

export function createChainWatchActivity(deps: ChainWatchDeps) {
  const log = deps.logger.child('chain-watch');

  /** The invoice workflow a transfer may pay, or undefined. */
  async function invoiceFor(client: Client, input: WatchInput, t: IncomingTransfer): Promise<string | undefined> {
    if (input.currency === 'TON') return t.comment !== undefined && INVOICE_ID_PATTERN.test(t.comment) ? t.comment : undefined;
    try {
      const claim = await client.workflow.getHandle(amountClaimWorkflowId(input.currency, input.merchantAddress, t.amountBaseUnits)).describe();
      return claim.status.name === 'RUNNING' ? (claim.parentExecution?.workflowId ?? undefined) : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Signals the invoice to check now; 'not-open' when there is no running invoice of that id. */
  async function nudge(client: Client, invoiceId: string, txHash: string): Promise<'nudged' | 'settled' | 'not-open'> {
    const handle = client.workflow.getHandle(invoiceId);
    try {
      // A comment can name any workflow: only a running invoice gets the signal.
      const d = await handle.describe();
      if (d.type !== 'paymentConfirmation' || d.status.name !== 'RUNNING') return 'not-open';
      // Already paid (e.g. the customer pressed "I paid" first): a signal would only cost it a workflow task.
      const status = d.typedSearchAttributes.get(InvoiceStatusKey);
      if (status !== undefined && SETTLED.has(status)) return 'settled';
      await handle.signal(paymentSeenSignal, { txHash });
      return 'nudged';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'not-open';
      throw err;
    }
  }

  return {
    async watchChainTransfers(input: WatchInput): Promise<WatchResult> {
      if (!input || (input.currency !== 'TON' && input.currency !== 'USDT_TRC20') || !input.merchantAddress) throw invalidInput('watchChainTransfers: currency and merchantAddress required', input);
      const ctx = Context.current();
      const progress: WatchProgress = (ctx.info.heartbeatDetails as WatchProgress | undefined) ?? { cursor: input.cursor, handled: input.handled ?? [], scans: 0, failedScans: 0, nudged: 0, alreadySettled: 0, unmatched: 0 };
      let handled = new Set(progress.handled);
      const startedMs = Date.now();
      const endMs = startedMs + deps.tariffs().policy.watch.runSeconds * 1000;
      let lastFailure = '';
      for (;;) {
        const t = deps.tariffs();
        if (t.merchants[input.currency].address !== input.merchantAddress) return { ...progress, retired: `the ${input.currency} merchant address is no longer ${input.merchantAddress}` };
        if (!(t.policy.watch.intervalSeconds > 0)) return { ...progress, retired: 'watching is off (policy.watch.intervalSeconds is 0)' };
        try {
          const scan = await listWithFailover(deps.providers(t, input.currency), {
            merchantAddress: input.merchantAddress,
            sinceCursor: progress.cursor,
            sinceMs: startedMs - t.policy.watch.lookbackSeconds * 1000,
          });
          if (scan.skipped.length) log.warn('primary chain provider failed; the watcher was answered by the fallback', { currency: input.currency, provider: scan.provider, skipped: scan.skipped });
          // A hash the scan no longer lists is behind the cursor for good: remember only this scan's.
          const listed = new Set<string>();
          for (const tr of scan.transfers) {
            listed.add(tr.txHash);
            if (handled.has(tr.txHash)) continue;
            const invoiceId = await invoiceFor(ctx.client, input, tr);
            const outcome = invoiceId ? await nudge(ctx.client, invoiceId, tr.txHash) : 'not-open';
            if (outcome === 'nudged') {
              progress.nudged++;
            } else if (outcome === 'settled') {
              progress.alreadySettled++;
            } else {
              progress.unmatched++;
              log.info('a transfer to the merchant matches no open invoice', { currency: input.currency, txHash: tr.txHash, amountBaseUnits: tr.amountBaseUnits, comment: tr.comment });
            }
          }
          handled = listed;
          progress.cursor = scan.cursor ?? progress.cursor;
          lastFailure = '';
        } catch (err) {
          if (!(err instanceof AggregateError)) throw err; // Temporal unreachable etc.: the activity's RetryPolicy
          progress.failedScans++;
          // Invoices still poll on their own; say it once per outage, not every few seconds.
          if (err.message !== lastFailure) log.warn('chain watcher: no provider answered; invoices fall back to their own polls', { currency: input.currency, error: err.message });
          lastFailure = err.message;
        }
        progress.scans++;
        progress.handled = [...handled];
        ctx.heartbeat(progress);
        if (Date.now() >= endMs) return progress;
        await ctx.sleep(t.policy.watch.intervalSeconds * 1000); // throws when the activity is cancelled (worker shutdown)
      }
    },
  };
}
