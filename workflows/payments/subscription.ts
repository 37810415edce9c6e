/**
 * `subscription` (id `subscription-<customerId>`): one entity per customer. Confirmed invoices
 * extend it (idempotent per invoice id; from the later of now and the current expiry), it reminds
 * the customer before expiry, deactivates at expiry (the access key carries the same expiry), takes
 * the one free trial and referral credits, and continues-as-new before its history grows large.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../../activities/control/payments/index.js';
import {
  extendSubscriptionSignal,
  extendSubscriptionUpdate,
  referralCreditSignal,
  requestTrialUpdate,
  setReferrerUpdate,
  subscriptionQuery,
  subscriptionWorkflowId,
  type SubscriptionInput,
  type SubscriptionView,
} from './contract.js';

// Light, idempotent activities in the control worker itself (local: no server round trips).
const { notifyCustomer, subscriptionPolicy } = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

const DAY_MS = 86_400_000;
/** Keep at most this many per-invoice results for idempotent repeats (older invoices are long done). */
const KEEP_EXTENSIONS = 100;

interface SubscriptionState {
  activeUntilMs?: number;
  tierId?: string;
  trialUsed: boolean;
  referredBy?: string;
  referralCreditsGranted: number;
  creditedReferrals: string[];
  paidInvoices: string[];
  extensions: Array<[invoiceId: string, untilMs: number]>;
  remindedForMs?: number;
  expiredForMs?: number;
}

export async function subscription(input: SubscriptionInput): Promise<void> {
  const { customerId } = input;
  const st: SubscriptionState = (input.carried as SubscriptionState | undefined) ?? {
    trialUsed: false,
    referralCreditsGranted: 0,
    creditedReferrals: [],
    paidInvoices: [],
    extensions: [],
  };
  // Handlers are registered before the first await: an update-with-start is delivered in the first activation.
  let policy: Awaited<ReturnType<typeof subscriptionPolicy>> | undefined;
  let changed = false;
  const pendingReferralCredits: string[] = [];

  const view = (): SubscriptionView => ({
    customerId,
    activeUntil: st.activeUntilMs !== undefined ? new Date(st.activeUntilMs).toISOString() : undefined,
    active: st.activeUntilMs !== undefined && st.activeUntilMs > Date.now(),
    tierId: st.tierId,
    trialUsed: st.trialUsed,
    referredBy: st.referredBy,
    referralCreditsGranted: st.referralCreditsGranted,
    paidInvoices: [...st.paidInvoices],
  });
  const extendBy = (days: number) => {
    st.activeUntilMs = Math.max(Date.now(), st.activeUntilMs ?? 0) + days * DAY_MS;
    changed = true;
    return st.activeUntilMs;
  };
  const extendForInvoice = (a: { invoiceId: string; tierId: string; days: number }): number => {
    const seen = st.extensions.find(([id]) => id === a.invoiceId);
    if (seen) return seen[1];
    const firstPayment = st.paidInvoices.length === 0;
    const until = extendBy(a.days);
    st.tierId = a.tierId;
    st.paidInvoices.push(a.invoiceId);
    st.extensions.push([a.invoiceId, until]);
    if (st.extensions.length > KEEP_EXTENSIONS) st.extensions.shift();
    if (st.paidInvoices.length > KEEP_EXTENSIONS) st.paidInvoices.shift();
    if (firstPayment && st.referredBy) pendingReferralCredits.push(st.referredBy);
    return until;
  };

  setHandler(subscriptionQuery, view);
  setHandler(extendSubscriptionSignal, (a) => void extendForInvoice(a));
  setHandler(extendSubscriptionUpdate, (a) => ({ ...view(), extendedUntil: new Date(extendForInvoice(a)).toISOString() }), {
    validator: (a) => {
      if (!a?.invoiceId || !(a.days > 0)) throw new Error('invoiceId and days > 0 required');
    },
  });
  setHandler(requestTrialUpdate, async () => {
    await condition(() => policy !== undefined);
    if (!policy) throw new Error('unreachable');
    if (st.trialUsed) return { granted: false, reason: 'the free trial was already used', view: view() };
    if (policy.trialDays <= 0) return { granted: false, reason: 'no free trial is offered', view: view() };
    st.trialUsed = true;
    st.tierId ??= 'trial';
    extendBy(policy.trialDays);
    return { granted: true, view: view() };
  });
  setHandler(setReferrerUpdate, ({ referrerId }) => {
    if (!referrerId || referrerId === customerId) return { accepted: false, reason: 'a customer cannot refer themselves' };
    if (st.referredBy) return { accepted: false, reason: 'a referrer is already recorded' };
    if (st.paidInvoices.length > 0) return { accepted: false, reason: 'referrals count only before the first payment' };
    st.referredBy = referrerId;
    changed = true;
    return { accepted: true };
  });
  setHandler(referralCreditSignal, ({ referredCustomerId, days }) => {
    if (st.creditedReferrals.includes(referredCustomerId) || !(days > 0)) return;
    st.creditedReferrals.push(referredCustomerId);
    st.referralCreditsGranted++;
    extendBy(days);
  });

  policy = await subscriptionPolicy();
  for (;;) {
    for (const referrer of pendingReferralCredits.splice(0)) {
      // The referrer may have no subscription entity yet: then there is no one to credit.
      await getExternalWorkflowHandle(subscriptionWorkflowId(referrer))
        .signal(referralCreditSignal, { referredCustomerId: customerId, days: policy.referralCreditDays })
        .catch(() => undefined);
    }
    const now = Date.now();
    const until = st.activeUntilMs;
    if (until !== undefined && until > now) {
      const remindAt = until - policy.reminderBeforeSeconds * 1000;
      if (policy.reminderBeforeSeconds > 0 && now >= remindAt && st.remindedForMs !== until) {
        st.remindedForMs = until;
        await notifyCustomer({
          idempotencyKey: `${customerId}/reminder/${until}`,
          customerId,
          kind: 'subscription-reminder',
          text: `Your access expires at ${new Date(until).toISOString()}. Renew to keep it.`,
          data: { activeUntil: new Date(until).toISOString() },
        });
      }
    } else if (until !== undefined && st.expiredForMs !== until) {
      st.expiredForMs = until;
      await notifyCustomer({
        idempotencyKey: `${customerId}/expired/${until}`,
        customerId,
        kind: 'subscription-expired',
        text: 'Your access has expired. Renew any time.',
        data: { expiredAt: new Date(until).toISOString() },
      });
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.continueAsNewAfterEvents ?? 2000)) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof subscription>({ customerId, carried: st, continueAsNewAfterEvents: input.continueAsNewAfterEvents });
    }
    const active = st.activeUntilMs !== undefined && st.activeUntilMs > Date.now();
    const nextAt = !active ? undefined : st.remindedForMs === st.activeUntilMs || policy.reminderBeforeSeconds <= 0 ? st.activeUntilMs! : st.activeUntilMs! - policy.reminderBeforeSeconds * 1000;
    changed = false;
    const wake = () => changed || pendingReferralCredits.length > 0 || workflowInfo().continueAsNewSuggested;
    if (nextAt === undefined) await condition(wake);
    else await condition(wake, Math.max(1, nextAt - Date.now()));
  }
}
