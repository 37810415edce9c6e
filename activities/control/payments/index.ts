/**
 * Payment activities on the control queue (`x0t-control`): tariff quotes, chain checks with
 * provider failover, subscription extension, access-key issuance, customer notifications.
 * Each is idempotent; bad input fails at once as non-retryable 'InvalidInput'.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Logger } from '../../../common/logger.js';
import { ConfigError } from '../../../common/errors.js';
import { invalidInput } from '../../errors.js';
import { DECIMALS, fromBaseUnits, toBaseUnits } from '../../../workflows/payments/amounts.js';
import { txClaimWorkflowId } from '../../../workflows/payments/claims.js';
import { chainWatcherWorkflowId, extendSubscriptionUpdate, INVOICE_ID_PATTERN, subscriptionWorkflowId, type Currency, type InvoiceRequest, type SubscriptionView } from '../../../workflows/payments/contract.js';
import { createChainWatchActivity } from './chain-watch.js';
import { issueOnce, loadSigningKey, publicKeyPem, type AccessKeyClaims } from './access-key.js';
import { createNotifier, type CustomerNotification, type NotificationSender } from './notify.js';
import { findWithFailover, type ChainProvider, type FailoverResult, type PaymentQuery } from './providers.js';
import { loadTariffs, type Tariffs } from './tariffs.js';
import { TonapiProvider, ToncenterProvider } from './ton.js';
import { TronGridProvider, TronScanProvider } from './tron.js';

export interface PaymentActivityDeps {
  dataDir: string;
  logger: Logger;
  /** Delivers a notification to the customer (the bot's Telegram send). Absent: recorded only. */
  sendNotification?: NotificationSender;
  /** Tariff file override (tests); default X0T_TARIFFS_FILE or config/tariffs.yaml. */
  tariffsFile?: string;
}

/** What the workflow needs to open an invoice: the tier, the base price and the policy in force. */
export interface InvoiceQuote {
  tier: { id: string; title: string; days: number };
  currency: Currency;
  decimals: number;
  /** Tier price in base units (USDT: before the unique-amount offset). */
  priceBaseUnits: string;
  merchantAddress: string;
  toleranceBaseUnits: string;
  policy: Tariffs['policy'];
}


function tariffs(deps: PaymentActivityDeps): Tariffs {
  try {
    return loadTariffs(deps.tariffsFile);
  } catch (err) {
    // A broken tariff file is an operator problem: retry (the operator may fix it) but say why.
    if (err instanceof ConfigError) throw ApplicationFailure.retryable(err.message, 'TariffsInvalid');
    throw err;
  }
}

export function providersFor(t: Tariffs, currency: Currency, env: NodeJS.ProcessEnv = process.env): ChainProvider[] {
  const timeoutMs = t.providers.timeoutMs;
  if (currency === 'USDT_TRC20') {
    const usdtContract = t.merchants.USDT_TRC20.usdtContract;
    return [
      new TronGridProvider({ baseUrl: t.providers.tron.trongrid, usdtContract, timeoutMs, apiKey: env.TRONGRID_API_KEY }),
      new TronScanProvider({ baseUrl: t.providers.tron.tronscan, usdtContract, timeoutMs, apiKey: env.TRONSCAN_API_KEY }),
    ];
  }
  return [
    new ToncenterProvider({ endpoint: t.providers.ton.toncenter, timeoutMs, apiKey: env.TONCENTER_API_KEY }),
    new TonapiProvider({ endpoint: t.providers.ton.tonapi, timeoutMs, apiKey: env.TONAPI_KEY }),
  ];
}

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const log = deps.logger.child('payments');
  let signingKey: ReturnType<typeof loadSigningKey> | undefined;
  const key = () => (signingKey ??= loadSigningKey(deps.dataDir, log));
  const notify = createNotifier(deps.dataDir, log, deps.sendNotification);
  /** Watchers this process started or found running lately (or is starting now): most invoices need no start call. */
  const watcherEnsured = new Map<string, { atMs: number; started: Promise<unknown> }>();

  return {
    ...createChainWatchActivity({ logger: deps.logger, tariffs: () => tariffs(deps), providers: providersFor }),

    /**
     * Makes sure the merchant's chain watcher runs (start with USE_EXISTING: idempotent), on the
     * invoice's task queue. Remembered for a minute per process, so a burst of invoices costs one
     * start call; a watcher stopped meanwhile is started again by the next invoice after that.
     */
    async ensureChainWatcher(input: { currency: Currency; merchantAddress: string }): Promise<{ workflowId: string; watching: boolean }> {
      if (!input?.merchantAddress || (input.currency !== 'TON' && input.currency !== 'USDT_TRC20')) throw invalidInput('ensureChainWatcher: currency and merchantAddress required', input);
      const ctx = Context.current();
      const workflowId = chainWatcherWorkflowId(input.currency, input.merchantAddress, ctx.info.taskQueue);
      if (!(tariffs(deps).policy.watch.intervalSeconds > 0)) return { workflowId, watching: false };
      const known = watcherEnsured.get(workflowId);
      if (known && known.atMs > Date.now() - 60_000) {
        await known.started; // invoices opened together share one start call
        return { workflowId, watching: true };
      }
      const started = ctx.client.workflow.start('chainWatcher', {
        workflowId,
        taskQueue: ctx.info.taskQueue,
        args: [{ currency: input.currency, merchantAddress: input.merchantAddress }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      watcherEnsured.set(workflowId, { atMs: Date.now(), started });
      try {
        await started;
      } catch (err) {
        watcherEnsured.delete(workflowId);
        throw err;
      }
      return { workflowId, watching: true };
    },

    /** Prices an invoice request from the tariff file. Unknown tier/currency or no merchant address: InvalidInput. */
    async quoteInvoice(req: InvoiceRequest): Promise<InvoiceQuote> {
      if (!req || typeof req !== 'object') throw invalidInput('invoice request missing');
      if (!INVOICE_ID_PATTERN.test(req.invoiceId ?? '')) throw invalidInput(`invoiceId ${JSON.stringify(req.invoiceId)}: 3-64 of letters, digits, _ . : -`);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(req.customerId ?? '')) throw invalidInput(`customerId ${JSON.stringify(req.customerId)} is not a valid id`);
      if (req.currency !== 'USDT_TRC20' && req.currency !== 'TON') throw invalidInput(`currency ${JSON.stringify(req.currency)}: USDT_TRC20 or TON`);
      const t = tariffs(deps);
      const tier = t.tiers.find((x) => x.id === req.tierId);
      if (!tier) throw invalidInput(`unknown tier ${JSON.stringify(req.tierId)}; tiers: ${t.tiers.map((x) => x.id).join(', ')}`);
      const merchantAddress = t.merchants[req.currency].address;
      if (!merchantAddress) throw invalidInput(`no merchant address configured for ${req.currency} (config/tariffs.yaml merchants, or X0T_MERCHANT_TRON / X0T_MERCHANT_TON)`);
      const decimals = DECIMALS[req.currency];
      return {
        tier: { id: tier.id, title: tier.title, days: tier.days },
        currency: req.currency,
        decimals,
        priceBaseUnits: toBaseUnits(tier.price[req.currency], decimals).toString(),
        merchantAddress,
        toleranceBaseUnits: toBaseUnits(t.policy.tolerance[req.currency], decimals).toString(),
        policy: t.policy,
      };
    },

    /** Looks for the invoice's payment on chain, primary provider first, failing over to the next. */
    async checkPayment(q: PaymentQuery): Promise<FailoverResult> {
      if (!q || !q.merchantAddress || !/^\d+$/.test(q.amountBaseUnits ?? '') || !(q.windowEndMs >= q.windowStartMs)) throw invalidInput('checkPayment: malformed query', q);
      if (q.currency === 'TON' && !q.comment) throw invalidInput('checkPayment: a TON query needs the comment');
      try {
        const res = await findWithFailover(providersFor(tariffs(deps), q.currency), q);
        if (res.skipped.length) log.warn('primary chain provider failed; answered by fallback', { invoiceId: q.invoiceId, provider: res.provider, skipped: res.skipped });
        return res;
      } catch (err) {
        if (err instanceof AggregateError) throw ApplicationFailure.retryable(err.message, 'ProvidersUnavailable');
        throw err;
      }
    },

    /**
     * The ledger claim (see workflows/payments/claims.ts): starts `txClaim` with id
     * `tx-claim-<currency>-<hash>` (REJECT_DUPLICATE, conflict FAIL), the invoice id in its memo.
     * When the id exists, the memo says whose it is, so a retry by the same invoice is still ours.
     */
    async claimTransaction(input: { invoiceId: string; currency: Currency; txHash: string }): Promise<{ claimed: boolean; owner?: string }> {
      if (!input?.invoiceId || !input.currency || !/^[0-9a-fA-F]{16,128}$/.test(input.txHash ?? '')) throw invalidInput('claimTransaction: invoiceId, currency and a hex txHash required', input);
      const ctx = Context.current();
      const workflowId = txClaimWorkflowId(input.currency, input.txHash);
      try {
        await ctx.client.workflow.start('txClaim', {
          workflowId,
          taskQueue: ctx.info.taskQueue,
          args: [{ invoiceId: input.invoiceId, txHash: input.txHash, currency: input.currency }],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          workflowIdConflictPolicy: 'FAIL',
          memo: { invoiceId: input.invoiceId },
        });
        return { claimed: true, owner: input.invoiceId };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        const owner = (await ctx.client.workflow.getHandle(workflowId).describe()).memo?.invoiceId;
        return { claimed: owner === input.invoiceId, owner: typeof owner === 'string' ? owner : undefined };
      }
    },

    /** Extends the customer's subscription entity for a paid invoice (update-with-start, idempotent per invoice). */
    async extendSubscription(input: { customerId: string; invoiceId: string; tierId: string; days: number }): Promise<SubscriptionView & { extendedUntil: string }> {
      if (!input?.customerId || !input.invoiceId || !(input.days > 0)) throw invalidInput('extendSubscription: customerId, invoiceId and days > 0 required', input);
      const ctx = Context.current();
      const op = new WithStartWorkflowOperation('subscription', {
        workflowId: subscriptionWorkflowId(input.customerId),
        taskQueue: ctx.info.taskQueue,
        args: [{ customerId: input.customerId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      return ctx.client.workflow.executeUpdateWithStart(extendSubscriptionUpdate, {
        args: [{ invoiceId: input.invoiceId, tierId: input.tierId, days: input.days }],
        startWorkflowOperation: op,
      });
    },

    /** Signs the invoice's access key, once: a retry returns the key issued first. */
    async issueAccessKey(claims: Omit<AccessKeyClaims, 'v'>): Promise<{ accessKey: string; expiresAt: string; issued: 'new' | 'existing' }> {
      if (!claims?.inv || !claims.cus || !claims.tier || Number.isNaN(Date.parse(claims.exp)) || Number.isNaN(Date.parse(claims.iat))) throw invalidInput('issueAccessKey: inv, cus, tier, iat, exp required', claims);
      const res = issueOnce(deps.dataDir, { v: 1, ...claims }, key());
      if (res.issued === 'new') log.info('access key issued', { invoiceId: claims.inv, customerId: claims.cus, tier: claims.tier, expiresAt: claims.exp });
      return { accessKey: res.accessKey, expiresAt: res.claims.exp, issued: res.issued };
    },

    /** Notifies the customer (see notify.ts: recorded only until the bot wires Telegram delivery). */
    async notifyCustomer(n: CustomerNotification) {
      if (!n?.idempotencyKey || !n.customerId || !n.text) throw invalidInput('notifyCustomer: idempotencyKey, customerId and text required');
      return notify(n);
    },

    /** The subscription policy in force (reminder lead time, trial and referral days). */
    async subscriptionPolicy(): Promise<Tariffs['policy']['subscription']> {
      return tariffs(deps).policy.subscription;
    },

    /** The access-key verification key (PEM), for operators and the bot. */
    async accessKeyPublicKey(): Promise<string> {
      return publicKeyPem(key());
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
