/**
 * The contract between the payment workflows and their clients (the Telegram bot, operators'
 * tools, tests): workflow ids, inputs, statuses, and the message definitions. Types and
 * message definitions only: safe to import from workflow code and from clients.
 *
 * Changes since the bot side started coding against it: additions only, at the end of the file
 * (extendSubscriptionUpdate, SubscriptionInput, PaymentConfirmationInput, TERMINAL_STATUSES);
 * nothing above was renamed or reshaped.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type Currency = 'USDT_TRC20' | 'TON';

export type InvoiceStatus =
  | 'awaiting' // open, waiting for a transfer
  | 'verifying' // a candidate transfer was seen, waiting for finality
  | 'confirmed' // paid in full and final; fulfilment pending
  | 'fulfilled' // access key issued and delivered (terminal)
  | 'expired' // window closed with no acceptable payment (terminal)
  | 'underpaid' // paid less than the amount beyond tolerance (terminal unless topped up per policy)
  | 'overpaid' // paid more than the amount beyond tolerance (terminal; refund decided by an operator)
  | 'rejected' // refused by policy or an operator (terminal)
  | 'cancelled' // cancelled by the customer before paying (terminal)
  | 'refunded'; // refunded by an operator (terminal)

/** What a client asks for; the workflow turns it into an Invoice (amount, address, expiry). */
export interface InvoiceRequest {
  invoiceId: string; // also the workflow id and the TON comment
  customerId: string; // Telegram user id as a string
  tierId: string; // a tier of the tariff config
  currency: Currency;
}

export interface Invoice {
  invoiceId: string;
  customerId: string;
  tierId: string;
  currency: Currency;
  /** Exact amount in base units as a decimal string (USDT: 6 decimals; TON: nanoTON). */
  amountBaseUnits: string;
  /** The same amount for people, e.g. "10.000137" USDT or "2.5" TON. */
  amountDisplay: string;
  merchantAddress: string;
  /** TON: the comment the transfer must carry (= invoiceId). USDT: undefined (no memo). */
  comment?: string;
  createdAt: string; // ISO
  expiresAt: string; // ISO
}

export interface InvoiceView {
  invoice: Invoice;
  status: InvoiceStatus;
  /** The transaction that paid it, once one was accepted. */
  txHash?: string;
  /** Why the status is what it is (human-readable, safe to show the customer). */
  reason?: string;
  /** The signed access key, once fulfilled (shown only to the invoice's customer). */
  accessKey?: string;
  accessExpiresAt?: string;
  /** Operator actions recorded in the workflow. */
  audit: Array<{ at: string; actor: string; action: string; reason: string }>;
}

/** Workflow id of an invoice's workflow: the invoice id itself. */
export const invoiceWorkflowId = (invoiceId: string) => invoiceId;

/** Workflow id of a customer's subscription entity. */
export const subscriptionWorkflowId = (customerId: string) => `subscription-${customerId}`;

/** "I paid": verify now; returns the status after that check. */
export const iPaidUpdate = defineUpdate<InvoiceView, []>('iPaid');
/** The customer cancels an unpaid invoice; rejected once a payment was accepted. */
export const cancelInvoiceUpdate = defineUpdate<InvoiceView, []>('cancelInvoice');
/** Operator actions, each with a reason recorded in the workflow. */
export const adminConfirmUpdate = defineUpdate<InvoiceView, [{ operator: string; reason: string }]>('adminConfirm');
export const adminRefundUpdate = defineUpdate<InvoiceView, [{ operator: string; reason: string }]>('adminRefund');
export const invoiceQuery = defineQuery<InvoiceView>('invoice');

export interface SubscriptionView {
  customerId: string;
  activeUntil?: string; // ISO; undefined when never active
  active: boolean;
  tierId?: string;
  trialUsed: boolean;
  referredBy?: string; // referrer's customer id
  referralCreditsGranted: number;
  paidInvoices: string[];
}

/** Extend the subscription for a confirmed invoice (idempotent per invoice id). */
export const extendSubscriptionSignal = defineSignal<[{ invoiceId: string; tierId: string; days: number }]>('extendSubscription');
/** The free first month, once per customer: returns whether it was granted and why not. */
export const requestTrialUpdate = defineUpdate<{ granted: boolean; reason?: string; view: SubscriptionView }, []>('requestTrial');
/** Record who referred this customer (first one wins; self-referral refused). */
export const setReferrerUpdate = defineUpdate<{ accepted: boolean; reason?: string }, [{ referrerId: string }]>('setReferrer');
/** A referred customer's first payment credits the referrer one month (idempotent per referred customer). */
export const referralCreditSignal = defineSignal<[{ referredCustomerId: string; days: number }]>('referralCredit');
export const subscriptionQuery = defineQuery<SubscriptionView>('subscription');

// ---- Added by the payments side (additions only; the names above are unchanged) ----

/**
 * Extend for a confirmed invoice and get the resulting view back (the fulfilment path uses it,
 * through update-with-start, to put the subscription's new expiry into the access key).
 * Idempotent per invoice id: a repeat returns the expiry that invoice produced.
 */
export const extendSubscriptionUpdate = defineUpdate<SubscriptionView & { extendedUntil: string }, [{ invoiceId: string; tierId: string; days: number }]>('extendSubscriptionNow');

/** Input of the `subscription` workflow (state is carried across continue-as-new). */
export interface SubscriptionInput {
  customerId: string;
  /** Internal: the state carried over by continue-as-new. Clients leave it out. */
  carried?: unknown;
  /** Continue-as-new once the run's history has this many events (default 2000; tests use less). */
  continueAsNewAfterEvents?: number;
}

/** Input of `paymentConfirmation`: the request; `createdAt`/`expiresAt` are set by the workflow. */
export type PaymentConfirmationInput = InvoiceRequest;

/**
 * Statuses the customer can treat as final. `expired` is final for the customer, but the workflow
 * keeps watching for policy.lateWindowSeconds: a late transfer turns it into `confirmed`→`fulfilled`
 * (policy.acceptLate) or `rejected` (for an operator to refund or confirm).
 */
export const TERMINAL_STATUSES: readonly InvoiceStatus[] = ['fulfilled', 'expired', 'underpaid', 'overpaid', 'rejected', 'cancelled', 'refunded'];

/**
 * The chain watcher saw a transfer that may pay this invoice (TON: its comment; USDT: its unique
 * amount): check now. A hint only; the invoice's own check decides (token, finality, window, ledger).
 */
export const paymentSeenSignal = defineSignal<[{ txHash: string }]>('paymentSeen');

/** Workflow id of the chain watcher of one merchant address, served by the invoices' task queue. */
export const chainWatcherWorkflowId = (currency: Currency, merchantAddress: string, taskQueue: string) => `chain-watcher-${currency}-${merchantAddress}-${taskQueue}`;

/** What an invoice id may look like (quoteInvoice refuses others; the chain watcher reads TON comments by it). */
export const INVOICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{2,63}$/;

/** Statuses after which a transfer changes nothing: paid (confirmed, maybe not yet fulfilled) or closed for good. */
export const SETTLED_STATUSES: readonly InvoiceStatus[] = ['confirmed', 'fulfilled', 'underpaid', 'overpaid', 'rejected', 'cancelled', 'refunded'];
