/**
 * `paymentConfirmation` (workflow id = invoice id): one invoice from quote to access key.
 *
 *   awaiting → verifying (a matching transfer seen, not final yet) → confirmed → fulfilled
 *   or expired / underpaid / overpaid / rejected / cancelled (and refunded by an operator).
 *
 * Checks the chain when the merchant's chain watcher signals `paymentSeen` (a transfer that may
 * pay it), when the customer presses "I paid" (an update: checks now, returns the status after
 * that check), and on its own timer with exponential backoff and jitter (policy.poll) as the
 * fallback for when the watcher is down. The paying transaction is claimed (a `txClaim`
 * workflow per hash, started by the claimTransaction activity) before anything is credited. Expiry closes the payment window,
 * not the watch: transfers arriving within policy.lateWindowSeconds are still seen and handled
 * per policy.acceptLate (status `expired` until then), after which the workflow closes and the
 * unique USDT amount is released. Fulfilment (subscription, signed key, notification) is
 * idempotent per invoice id, so a worker killed mid-way issues the key once.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { InvoiceQuote, PaymentActivities } from '../../activities/control/payments/index.js';
import type { FailoverResult, PaymentObservation } from '../../activities/control/payments/providers.js';
import { fnv1a, fromBaseUnits } from './amounts.js';
import { amountClaim, amountClaimWorkflowId } from './claims.js';
import { CurrencyKey, CustomerIdKey, InvoiceStatusKey } from './search-attributes.js';
import {
  adminConfirmUpdate,
  adminRefundUpdate,
  cancelInvoiceUpdate,
  iPaidUpdate,
  invoiceQuery,
  paymentSeenSignal,
  SETTLED_STATUSES,
  type Invoice,
  type InvoiceStatus,
  type InvoiceView,
  type PaymentConfirmationInput,
} from './contract.js';


// Quick, idempotent activities run as local activities in the control worker running this
// workflow: no activity-task round trips through the server, so "I paid" costs one workflow task
// after the chain check (see bench/payments.ts). Retries and timeouts are still a RetryPolicy.
const { quoteInvoice, claimTransaction, issueAccessKey, notifyCustomer } = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});
// A chain check waits on third parties (two providers, paginated, up to 8 s per request): a
// regular activity, so a slow or hanging provider holds an activity slot, never a workflow task.
// A failed check is retried a few times, then the poll loop simply tries again at its next tick.
const { checkPayment } = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput'] },
});
// Extending the subscription waits for the subscription workflow's own task (update-with-start):
// a regular activity, since a local one would hold this workflow's task slot meanwhile and, with
// many invoices fulfilling at once, starve the very tasks it waits for.
const { extendSubscription } = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

// Starting the merchant's watcher is best effort: the invoice's own polls cover it not running.
const { ensureChainWatcher } = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 ms', maximumAttempts: 3, nonRetryableErrorTypes: ['InvalidInput'] },
});

const SETTLED: ReadonlySet<InvoiceStatus> = new Set(SETTLED_STATUSES);
const TERMINAL: ReadonlySet<InvoiceStatus> = new Set(SETTLED_STATUSES.filter((s) => s !== 'confirmed'));

export async function paymentConfirmation(req: PaymentConfirmationInput): Promise<InvoiceView> {
  const createdAtMs = Date.now();
  let status = 'awaiting' as InvoiceStatus; // widened: handlers and helpers change it
  let reason: string | undefined;
  let txHash: string | undefined;
  let accessKey: string | undefined;
  let accessExpiresAt: string | undefined;
  const audit: InvoiceView['audit'] = [];
  let invoice: Invoice = {
    invoiceId: req.invoiceId,
    customerId: req.customerId,
    tierId: req.tierId,
    currency: req.currency,
    amountBaseUnits: '',
    amountDisplay: '',
    merchantAddress: '',
    createdAt: new Date(createdAtMs).toISOString(),
    expiresAt: new Date(createdAtMs).toISOString(),
  };
  let ready = false;
  let checkRequested = false;
  let checksStarted = 0;
  let checksDone = 0;
  let cancelRequested = false;
  let adminConfirm: { operator: string; reason: string } | undefined;

  const view = (): InvoiceView => ({ invoice, status, txHash, reason, accessKey, accessExpiresAt, audit: [...audit] });
  const setStatus = (s: InvoiceStatus, why?: string) => {
    status = s;
    reason = why;
    upsertSearchAttributes([{ key: InvoiceStatusKey, value: s }]);
  };
  const settled = () => SETTLED.has(status);

  setHandler(invoiceQuery, view);
  setHandler(paymentSeenSignal, () => {
    if (!settled()) checkRequested = true;
  });
  setHandler(iPaidUpdate, async () => {
    await condition(() => ready);
    if (settled()) return view();
    const target = checksStarted + 1; // a check that starts after this request
    checkRequested = true;
    await condition(() => checksDone >= target || settled());
    return view();
  });
  setHandler(
    cancelInvoiceUpdate,
    async () => {
      cancelRequested = true;
      await condition(() => status === 'cancelled');
      return view();
    },
    { validator: () => { if (txHash !== undefined || TERMINAL.has(status) || status === 'confirmed' || status === 'verifying') throw new Error(`cannot cancel: invoice is ${status}${txHash || status === 'verifying' ? ' and a payment was seen' : ''}`); } },
  );
  setHandler(
    adminConfirmUpdate,
    async (a) => {
      adminConfirm = a;
      await condition(() => status === 'fulfilled');
      return view();
    },
    { validator: (a) => { if (!a?.operator || !a.reason) throw new Error('operator and reason required'); if (TERMINAL.has(status) && status !== 'underpaid' && status !== 'rejected') throw new Error(`cannot confirm: invoice is ${status}`); } },
  );
  setHandler(
    adminRefundUpdate,
    (a) => {
      audit.push({ at: new Date().toISOString(), actor: a.operator, action: 'refund', reason: a.reason });
      setStatus('refunded', `refunded by an operator: ${a.reason}`);
      return view();
    },
    { validator: (a) => { if (!a?.operator || !a.reason) throw new Error('operator and reason required'); if (txHash === undefined) throw new Error('nothing to refund: no payment was accepted'); } },
  );

  upsertSearchAttributes([
    { key: InvoiceStatusKey, value: status },
    { key: CustomerIdKey, value: req.customerId },
    { key: CurrencyKey, value: req.currency },
  ]);

  // Bad requests fail the workflow at once (InvalidInput is non-retryable).
  const quote: InvoiceQuote = await quoteInvoice(req);
  const policy = quote.policy;
  const expiresAtMs = createdAtMs + policy.invoiceTtlSeconds * 1000;
  const watchUntilMs = expiresAtMs + policy.lateWindowSeconds * 1000;
  const amount = quote.currency === 'USDT_TRC20' ? await claimUniqueAmount(req.invoiceId, quote) : BigInt(quote.priceBaseUnits);
  invoice = {
    ...invoice,
    amountBaseUnits: amount.toString(),
    amountDisplay: fromBaseUnits(amount, quote.decimals),
    merchantAddress: quote.merchantAddress,
    comment: quote.currency === 'TON' ? req.invoiceId : undefined,
    expiresAt: new Date(expiresAtMs).toISOString(),
  };
  ready = true;
  // Quotes recorded before the watcher existed have no policy.watch: their replay schedules nothing here.
  if ((policy.watch?.intervalSeconds ?? 0) > 0) {
    void ensureChainWatcher({ currency: quote.currency, merchantAddress: quote.merchantAddress }).catch(() => undefined);
  }

  const excluded: string[] = [];
  let scanCursor: string | undefined; // where the previous check stopped reading the chain
  let delayMs = policy.poll.initialSeconds * 1000;
  let paid: PaymentObservation | undefined;

  while (!paid && !adminConfirm) {
    if (status === 'awaiting' && Date.now() >= expiresAtMs) setStatus('expired', 'the payment window closed with no payment');
    if (Date.now() >= watchUntilMs) break;
    // Math.random is seeded per workflow run: the jitter replays exactly.
    const jitter = policy.poll.jitter ?? 0;
    const waitMs = status === 'verifying' ? policy.poll.verifyingSeconds * 1000 : delayMs * (1 + jitter * (2 * Math.random() - 1));
    const untilEdge = (Date.now() < expiresAtMs ? expiresAtMs : watchUntilMs) - Date.now();
    await condition(() => checkRequested || cancelRequested || adminConfirm !== undefined, Math.max(1, Math.min(waitMs, untilEdge)));
    if (cancelRequested) {
      setStatus('cancelled', 'cancelled by the customer');
      break;
    }
    if (adminConfirm) break;
    checkRequested = false;
    checksStarted++;
    let result: FailoverResult | undefined;
    try {
      result = await checkPayment({
        invoiceId: req.invoiceId,
        currency: req.currency,
        merchantAddress: invoice.merchantAddress,
        amountBaseUnits: invoice.amountBaseUnits,
        comment: invoice.comment,
        windowStartMs: createdAtMs - 2000, // chain timestamps have second resolution
        windowEndMs: watchUntilMs,
        excludeTxHashes: excluded,
        sinceCursor: scanCursor,
      });
      scanCursor = result.cursor ?? scanCursor;
    } catch {
      // Every provider failed (after the activity's retries): keep the status, try at the next tick.
    }
    for (const obs of result?.observations ?? []) {
      if (!obs.final) {
        if (status === 'awaiting' || status === 'expired') setStatus('verifying', 'a transfer was seen; waiting for it to become final');
        txHash = undefined;
        break;
      }
      if (!(await claimTransaction({ invoiceId: req.invoiceId, currency: req.currency, txHash: obs.txHash })).claimed) {
        excluded.push(obs.txHash); // it paid another invoice: never ours
        continue;
      }
      paid = obs;
      txHash = obs.txHash;
      break;
    }
    if (!paid && status === 'verifying' && !(result?.observations ?? []).length && result) setStatus(Date.now() >= expiresAtMs ? 'expired' : 'awaiting');
    if (paid) judge(paid);
    checksDone++;
    delayMs = Math.min(delayMs * policy.poll.backoffCoefficient, policy.poll.maxSeconds * 1000);
  }

  function judge(p: PaymentObservation) {
    const got = BigInt(p.amountBaseUnits);
    const due = amount;
    const tol = BigInt(quote.toleranceBaseUnits);
    const shown = (v: bigint) => `${fromBaseUnits(v, quote.decimals)} ${quote.currency === 'TON' ? 'TON' : 'USDT'}`;
    if (got < due - tol) setStatus('underpaid', `received ${shown(got)} of ${shown(due)}`);
    else if (got > due + tol) setStatus('overpaid', `received ${shown(got)}, expected ${shown(due)}; an operator will refund the difference`);
    else if (p.timestampMs > expiresAtMs && !policy.acceptLate) setStatus('rejected', 'paid after the invoice expired; an operator will refund or confirm it');
    else setStatus('confirmed', p.timestampMs > expiresAtMs ? 'paid after expiry, accepted by policy' : undefined);
  }

  if (adminConfirm) {
    audit.push({ at: new Date().toISOString(), actor: adminConfirm.operator, action: 'confirm', reason: adminConfirm.reason });
    setStatus('confirmed', `confirmed by an operator: ${adminConfirm.reason}`);
  }

  if (status === 'confirmed') {
    const confirmedAt = new Date().toISOString();
    const sub = await extendSubscription({ customerId: req.customerId, invoiceId: req.invoiceId, tierId: quote.tier.id, days: quote.tier.days });
    const key = await issueAccessKey({ inv: req.invoiceId, cus: req.customerId, tier: quote.tier.id, iat: confirmedAt, exp: sub.extendedUntil });
    accessKey = key.accessKey;
    accessExpiresAt = key.expiresAt;
    await notifyCustomer({
      idempotencyKey: `${req.invoiceId}/access-key`,
      customerId: req.customerId,
      kind: 'access-key',
      text: `Payment for ${quote.tier.title} received. Your access key is valid until ${accessExpiresAt}.`,
      data: { invoiceId: req.invoiceId, accessKey, expiresAt: accessExpiresAt },
    });
    setStatus('fulfilled', reason);
  } else if (status === 'underpaid' || status === 'overpaid' || status === 'rejected') {
    await notifyCustomer({ idempotencyKey: `${req.invoiceId}/${status}`, customerId: req.customerId, kind: 'payment-problem', text: `Invoice ${req.invoiceId}: ${reason}`, data: { invoiceId: req.invoiceId, status } });
  } else if (status === 'verifying' || status === 'awaiting') {
    setStatus('expired', 'no final payment before the watch window ended');
  }
  // Let an operator's refund/confirm that raced the end finish before closing.
  await condition(() => true);
  return view();
}

/** USDT: price + k micro-USDT with k unique among open invoices to this merchant (probe from a hash of the id). */
async function claimUniqueAmount(invoiceId: string, quote: InvoiceQuote): Promise<bigint> {
  const slots = quote.policy.uniqueAmountSlots;
  const price = BigInt(quote.priceBaseUnits);
  const first = 1 + (fnv1a(invoiceId) % (slots - 1));
  for (let i = 0; i < slots - 1; i++) {
    const k = 1 + ((first - 1 + i) % (slots - 1));
    const amount = price + BigInt(k);
    try {
      await startChild(amountClaim, {
        workflowId: amountClaimWorkflowId(quote.currency, quote.merchantAddress, amount.toString()),
        args: [{ invoiceId }],
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      return amount;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) continue;
      throw err;
    }
  }
  throw ApplicationFailure.nonRetryable(`all ${slots - 1} unique amounts are taken by open invoices; raise policy.uniqueAmountSlots`, 'NoUniqueAmount');
}
