/**
 * Claims held by Temporal itself: a workflow id can belong to one execution at a time, and the
 * server enforces it atomically and durably. So "start a workflow with id X" is a compare-and-set
 * on X that survives worker kills, server restarts and many control workers on many hosts, with
 * no extra store.
 *
 * - `txClaim` (id `tx-claim-<currency>-<txHash>`): the ledger. Started for the paying invoice by
 *   the claimTransaction activity with REJECT_DUPLICATE (owner in its memo) and held open forever,
 *   so a transaction hash pays at most one invoice, ever (even after namespace retention, since it
 *   never closes; an operator terminating it still blocks reuse through REJECT_DUPLICATE until
 *   retention). Started from an activity rather than as a child so that "I paid" costs one
 *   workflow task, not two.
 * - `amountClaim` (id `amount-claim-<currency>-<merchant>-<baseUnits>`): a unique USDT amount
 *   for an open invoice (TRC-20 has no memo). Child with ParentClosePolicy TERMINATE: released
 *   when the invoice's workflow closes (after its late-payment window), then reusable.
 */
import { condition, defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';

export interface TxClaimInput {
  invoiceId: string;
  txHash: string;
  currency: string;
}

/** Which invoice owns the claimed transaction. */
export const txClaimOwnerQuery = defineQuery<TxClaimInput & { claimedAt: string }>('txClaimOwner');

export const txClaimWorkflowId = (currency: string, txHash: string) => `tx-claim-${currency}-${txHash.toLowerCase()}`;
export const amountClaimWorkflowId = (currency: string, merchant: string, baseUnits: string) => `amount-claim-${currency}-${merchant}-${baseUnits}`;

/** Holds a transaction hash for one invoice, forever. */
export async function txClaim(input: TxClaimInput): Promise<never> {
  const claimedAt = new Date(workflowInfo().startTime).toISOString();
  setHandler(txClaimOwnerQuery, () => ({ ...input, claimedAt }));
  await condition(() => false);
  throw new Error('unreachable');
}

/** Holds a unique invoice amount until the owning invoice's workflow closes. */
export const amountClaimOwnerQuery = defineQuery<{ invoiceId: string }>('amountClaimOwner');
export async function amountClaim(input: { invoiceId: string }): Promise<never> {
  setHandler(amountClaimOwnerQuery, () => input);
  await condition(() => false);
  throw new Error('unreachable');
}
