/**
 * The bot's back end: Temporal. Every piece of payment state lives in the payment workflows
 * (`paymentConfirmation`, id = invoice id) and the customer's `subscription` entity; the bot only
 * starts them, sends updates and asks queries, so a restarted bot has lost nothing.
 *
 * Workflows are addressed by type name and the message definitions of
 * workflows/payments/contract.ts, so the bot never imports workflow code.
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { CONTROL_TASK_QUEUE, NODE_REGISTRY_WORKFLOW_ID } from '../common/task-queues.js';
import {
  adminConfirmUpdate,
  adminRefundUpdate,
  cancelInvoiceUpdate,
  iPaidUpdate,
  invoiceQuery,
  invoiceWorkflowId,
  requestTrialUpdate,
  setReferrerUpdate,
  subscriptionQuery,
  subscriptionWorkflowId,
  type InvoiceRequest,
  type InvoiceStatus,
  type InvoiceView,
  type SubscriptionView,
} from '../workflows/payments/contract.js';

/** Workflow type names (the payments side registers them in workflows/index.ts). */
export const PAYMENT_WORKFLOW_TYPE = 'paymentConfirmation';
export const SUBSCRIPTION_WORKFLOW_TYPE = 'subscription';

export const TERMINAL_STATUSES: ReadonlySet<InvoiceStatus> = new Set(['fulfilled', 'expired', 'underpaid', 'overpaid', 'rejected', 'cancelled', 'refunded']);
export const isTerminal = (s: InvoiceStatus) => TERMINAL_STATUSES.has(s);
/** Final: nothing the customer does can change it. ('expired' is not: the workflow keeps watching for a late transfer.) */
export const isFinal = (s: InvoiceStatus) => s !== 'expired' && TERMINAL_STATUSES.has(s);

/** The result of an action on an invoice: done, or refused with why (and the state it is in). */
export type InvoiceActionResult =
  | { ok: true; view: InvoiceView }
  | { ok: false; why: 'not-found' } // no such invoice
  | { ok: false; why: 'closed'; view: InvoiceView } // the workflow has finished; nothing can change it
  | { ok: false; why: 'refused'; view?: InvoiceView; message: string }; // the workflow refused the update

export interface MeshHealth {
  liveNodes: Array<{ nodeId: string; lastSeenMs: number }> | 'not-available';
  /** The healing side's summary; 'not-available' until a healing supervisor runs. */
  healing: 'not-available' | { summary: string };
}

/** What the bot needs from the back end; TemporalBackend is the real one. */
export interface PaymentsBackend {
  /** Starts the invoice's workflow and returns it priced; `created: false` when that invoice id already exists; view undefined when the workflow refused the request. */
  createInvoice(req: InvoiceRequest): Promise<{ created: boolean; view: InvoiceView | undefined }>;
  getInvoice(invoiceId: string): Promise<InvoiceView | undefined>;
  iPaid(invoiceId: string): Promise<InvoiceActionResult>;
  cancel(invoiceId: string): Promise<InvoiceActionResult>;
  adminConfirm(invoiceId: string, operator: string, reason: string): Promise<InvoiceActionResult>;
  adminRefund(invoiceId: string, operator: string, reason: string): Promise<InvoiceActionResult>;
  /** The customer's invoices that are still open (running workflows), newest first. */
  openInvoices(customerId: string): Promise<InvoiceView[]>;
  subscription(customerId: string): Promise<SubscriptionView | undefined>;
  requestTrial(customerId: string): Promise<{ granted: boolean; reason?: string; view: SubscriptionView }>;
  setReferrer(customerId: string, referrerId: string): Promise<{ accepted: boolean; reason?: string }>;
  /**
   * Makes sure the customer's subscription entity runs: a referral credit is a signal to the
   * referrer's entity, and a signal to an entity that was never started would be lost.
   */
  ensureSubscription(customerId: string): Promise<void>;
  meshHealth(): Promise<MeshHealth>;
}

const CUSTOMER_ID = /^\d{1,20}$/;

export class TemporalBackend implements PaymentsBackend {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string = CONTROL_TASK_QUEUE,
  ) {}

  async createInvoice(req: InvoiceRequest): Promise<{ created: boolean; view: InvoiceView | undefined }> {
    let created = true;
    try {
      await this.client.workflow.start(PAYMENT_WORKFLOW_TYPE, {
        workflowId: invoiceWorkflowId(req.invoiceId),
        taskQueue: this.taskQueue,
        args: [req],
        // One workflow per invoice id, ever: a repeated click can never open a second invoice.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      created = false;
    }
    return { created, view: await this.pricedInvoice(req.invoiceId) };
  }

  /**
   * The invoice once the workflow has priced it (amount and address are set after its first
   * activity); undefined when the workflow failed instead (e.g. an unknown tier).
   */
  private async pricedInvoice(invoiceId: string, timeoutMs = 20_000): Promise<InvoiceView | undefined> {
    const deadline = Date.now() + timeoutMs;
    const handle = this.client.workflow.getHandle(invoiceWorkflowId(invoiceId));
    for (;;) {
      const view = await this.getInvoice(invoiceId, 5);
      if (view?.invoice.amountBaseUnits) return view;
      const status = (await handle.describe()).status.name;
      if (status !== 'RUNNING' && status !== 'COMPLETED') return undefined;
      if (Date.now() > deadline) throw new Error(`invoice ${invoiceId} was not priced within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The invoice's view; retried briefly while a just-started workflow has not answered yet. */
  async getInvoice(invoiceId: string, attempts = 1): Promise<InvoiceView | undefined> {
    for (let i = 0; ; i++) {
      try {
        return await this.client.workflow.getHandle(invoiceWorkflowId(invoiceId)).query(invoiceQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        if (i + 1 >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  iPaid(invoiceId: string) {
    return this.invoiceUpdate(invoiceId, (h) => h.executeUpdate(iPaidUpdate));
  }
  cancel(invoiceId: string) {
    return this.invoiceUpdate(invoiceId, (h) => h.executeUpdate(cancelInvoiceUpdate));
  }
  adminConfirm(invoiceId: string, operator: string, reason: string) {
    return this.invoiceUpdate(invoiceId, (h) => h.executeUpdate(adminConfirmUpdate, { args: [{ operator, reason }] }));
  }
  adminRefund(invoiceId: string, operator: string, reason: string) {
    return this.invoiceUpdate(invoiceId, (h) => h.executeUpdate(adminRefundUpdate, { args: [{ operator, reason }] }));
  }

  private async invoiceUpdate(
    invoiceId: string,
    run: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<InvoiceView>,
  ): Promise<InvoiceActionResult> {
    const handle = this.client.workflow.getHandle(invoiceWorkflowId(invoiceId));
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { ok: false, why: 'not-found' };
      throw err;
    }
    if (status !== 'RUNNING') {
      const view = await this.getInvoice(invoiceId);
      return view ? { ok: false, why: 'closed', view } : { ok: false, why: 'not-found' };
    }
    try {
      return { ok: true, view: await run(handle) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // It finished between describe and update.
        const view = await this.getInvoice(invoiceId);
        return view ? { ok: false, why: 'closed', view } : { ok: false, why: 'not-found' };
      }
      if (err instanceof WorkflowUpdateFailedError) {
        const view = await this.getInvoice(invoiceId).catch(() => undefined);
        return { ok: false, why: 'refused', view, message: err.cause?.message ?? err.message };
      }
      // Completed while the update was in flight: the server says so in plain words.
      if (/already completed|workflow execution already/i.test((err as Error).message)) {
        const view = await this.getInvoice(invoiceId);
        if (view) return { ok: false, why: 'closed', view };
      }
      throw err;
    }
  }

  async openInvoices(customerId: string): Promise<InvoiceView[]> {
    if (!CUSTOMER_ID.test(customerId)) throw new TypeError('customer id must be a Telegram user id');
    const ids: string[] = [];
    const query = `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}' AND CustomerId = '${customerId}' AND ExecutionStatus = 'Running'`;
    for await (const wf of this.client.workflow.list({ query, pageSize: 20 })) {
      ids.push(wf.workflowId);
      if (ids.length >= 10) break;
    }
    const views = await Promise.all(ids.map((id) => this.getInvoice(id).catch(() => undefined)));
    return views
      .filter((v): v is InvoiceView => v !== undefined && v.invoice.customerId === customerId)
      .sort((a, b) => b.invoice.createdAt.localeCompare(a.invoice.createdAt));
  }

  async subscription(customerId: string): Promise<SubscriptionView | undefined> {
    try {
      return await this.client.workflow.getHandle(subscriptionWorkflowId(customerId)).query(subscriptionQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  requestTrial(customerId: string) {
    return this.client.workflow.executeUpdateWithStart(requestTrialUpdate, {
      startWorkflowOperation: this.subscriptionStart(customerId),
    });
  }

  setReferrer(customerId: string, referrerId: string) {
    return this.client.workflow.executeUpdateWithStart(setReferrerUpdate, {
      args: [{ referrerId }],
      startWorkflowOperation: this.subscriptionStart(customerId),
    });
  }

  async ensureSubscription(customerId: string): Promise<void> {
    const op = this.subscriptionStart(customerId);
    await this.client.workflow.start(op.workflowTypeOrFunc, op.options);
  }

  /** The customer's subscription entity: started on first need, the running one used after. */
  private subscriptionStart(customerId: string) {
    if (!CUSTOMER_ID.test(customerId)) throw new TypeError('customer id must be a Telegram user id');
    return new WithStartWorkflowOperation(SUBSCRIPTION_WORKFLOW_TYPE, {
      workflowId: subscriptionWorkflowId(customerId),
      taskQueue: this.taskQueue,
      args: [{ customerId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  async meshHealth(): Promise<MeshHealth> {
    let liveNodes: MeshHealth['liveNodes'] = 'not-available';
    try {
      const nodes = await this.client.workflow.getHandle(NODE_REGISTRY_WORKFLOW_ID).query<Array<{ nodeId: string; lastSeenMs: number }>>('liveNodes');
      liveNodes = nodes.map((n) => ({ nodeId: n.nodeId, lastSeenMs: n.lastSeenMs }));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // The healing supervisor (mapeKCycle/healingSupervisor) has no query contract yet.
    return { liveNodes, healing: 'not-available' };
  }
}
