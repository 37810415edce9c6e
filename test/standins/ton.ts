/**
 * Local stand-ins of toncenter (v2 JSON-RPC, `getTransactions`, exactly the shape @ton/ton's
 * TonClient validates: base64 BoC `data`, `transaction_id{lt,hash}`, `in_msg`/`out_msgs` with
 * `msg_data`) and tonapi (`GET /v2/blockchain/accounts/{id}/transactions`, after_lt / before_lt /
 * limit / sort_order), both serving transactions produced by @ton/sandbox. Tests push the
 * sandbox's `res.transactions`; the stand-ins keep those of each account, newest first.
 * Errors as toncenter sends them: `{ok:false, error, code}`.
 */
import { Address, beginCell, Cell, storeMessage, storeTransaction, type Message, type Transaction } from '@ton/core';
import { readComment } from '../../activities/control/payments/ton.js';
import { serve, type StandinServer } from './http.js';

export class TonTxStore {
  private readonly byAccount = new Map<string, Transaction[]>();

  /** Adds transactions (e.g. a sandbox send's `res.transactions`); duplicates are ignored. */
  add(txs: Transaction[]): void {
    for (const tx of txs) {
      const key = tx.address.toString(16).padStart(64, '0');
      const list = this.byAccount.get(key) ?? [];
      if (!list.some((t) => t.lt === tx.lt)) list.push(tx);
      list.sort((a, b) => (a.lt < b.lt ? 1 : a.lt > b.lt ? -1 : 0)); // newest first
      this.byAccount.set(key, list);
    }
  }

  of(address: Address): Transaction[] {
    return this.byAccount.get(address.hash.toString('hex')) ?? [];
  }
}

const boc = (c: Cell) => c.toBoc().toString('base64');
const txCell = (tx: Transaction) => beginCell().store(storeTransaction(tx)).endCell();

function toncenterMessage(m: Message) {
  const info = m.info;
  const text = readComment(m.body);
  return {
    '@type': 'raw.message',
    source: info.type === 'external-in' ? '' : info.src?.toString() ?? '',
    destination: info.type === 'external-out' ? '' : info.dest.toString(),
    value: info.type === 'internal' ? info.value.coins.toString() : '0',
    fwd_fee: info.type === 'internal' ? info.forwardFee.toString() : '0',
    ihr_fee: info.type === 'internal' ? info.ihrFee.toString() : '0',
    created_lt: info.type === 'external-in' ? '0' : info.createdLt.toString(),
    body_hash: m.body.hash().toString('base64'),
    msg_data: text !== undefined ? { '@type': 'msg.dataText', text: Buffer.from(text).toString('base64') } : { '@type': 'msg.dataRaw', body: boc(m.body), init_state: '' },
    message: text ?? '',
  };
}

// Serialising a transaction is the stand-in's main cost: do it once per transaction.
const toncenterRows = new WeakMap<Transaction, ReturnType<typeof toncenterTxUncached>>();
const tonapiRows = new WeakMap<Transaction, ReturnType<typeof tonapiTxUncached>>();
function toncenterTx(tx: Transaction) {
  let row = toncenterRows.get(tx);
  if (!row) toncenterRows.set(tx, (row = toncenterTxUncached(tx)));
  return row;
}
function tonapiTx(tx: Transaction) {
  let row = tonapiRows.get(tx);
  if (!row) tonapiRows.set(tx, (row = tonapiTxUncached(tx)));
  return row;
}

function toncenterTxUncached(tx: Transaction) {
  const d = tx.description;
  return {
    '@type': 'raw.transaction',
    address: { '@type': 'accountAddress', account_address: '' },
    utime: tx.now,
    data: boc(txCell(tx)),
    transaction_id: { '@type': 'internal.transactionId', lt: tx.lt.toString(), hash: tx.hash().toString('base64') },
    fee: tx.totalFees.coins.toString(),
    storage_fee: d.type === 'generic' && d.storagePhase ? d.storagePhase.storageFeesCollected.toString() : '0',
    other_fee: '0',
    in_msg: tx.inMessage ? toncenterMessage(tx.inMessage) : undefined,
    out_msgs: [...tx.outMessages.values()].map(toncenterMessage),
  };
}

/** toncenter v2 stand-in; the endpoint to give TonClient is `${url}/api/v2/jsonRPC`. */
export async function startToncenter(store: TonTxStore): Promise<StandinServer & { endpoint: string }> {
  const s = await serve(({ method, url, body }) => {
    if (method !== 'POST' || url.pathname !== '/api/v2/jsonRPC') return { status: 404, body: { ok: false, error: 'Not Found', code: 404 } };
    const rpc = body as { id?: string; method?: string; params?: Record<string, unknown> };
    if (rpc?.method !== 'getTransactions') return { status: 422, body: { ok: false, error: `method ${rpc?.method} not supported by the stand-in`, code: 422, id: rpc?.id } };
    const p = rpc.params ?? {};
    let address: Address;
    try {
      address = Address.parse(String(p.address));
    } catch {
      return { status: 416, body: { ok: false, error: 'Incorrect address', code: 416, id: rpc.id } };
    }
    const limit = Math.min(Number(p.limit ?? 10), 100);
    let list = store.of(address);
    if (p.lt !== undefined) {
      const lt = BigInt(String(p.lt));
      const at = list.findIndex((t) => t.lt === lt && (p.hash === undefined || toncenterTx(t).transaction_id.hash === p.hash || Buffer.from(toncenterTx(t).transaction_id.hash, 'base64').toString('hex') === String(p.hash).toLowerCase()));
      if (at < 0) return { status: 500, body: { ok: false, error: 'LITE_SERVER_UNKNOWN: cannot compute block with specified transaction: lt not in db', code: 500, id: rpc.id } };
      list = list.slice(at); // inclusive of the cursor transaction, as toncenter does
    }
    if (p.to_lt !== undefined) list = list.filter((t) => t.lt > BigInt(String(p.to_lt)));
    return { body: { ok: true, result: list.slice(0, limit).map(toncenterTx), id: rpc.id, jsonrpc: '2.0' } };
  }, (status) => ({ ok: false, error: status === 429 ? 'Ratelimit exceed' : `HTTP ${status}`, code: status }));
  return Object.assign(s, { endpoint: `${s.url}/api/v2/jsonRPC` });
}

function tonapiAccount(a: Address | null | undefined) {
  return a ? { address: a.toRawString(), is_scam: false, is_wallet: true } : undefined;
}

function tonapiMessage(m: Message) {
  const info = m.info;
  const text = readComment(m.body);
  const op = m.body.bits.length >= 32 ? m.body.beginParse().preloadUint(32) : undefined;
  return {
    msg_type: info.type === 'internal' ? 'int_msg' : info.type === 'external-in' ? 'ext_in_msg' : 'ext_out_msg',
    created_lt: info.type === 'external-in' ? 0 : Number(info.createdLt),
    ihr_disabled: info.type === 'internal' ? info.ihrDisabled : true,
    bounce: info.type === 'internal' ? info.bounce : false,
    bounced: info.type === 'internal' ? info.bounced : false,
    value: info.type === 'internal' ? Number(info.value.coins) : 0,
    fwd_fee: info.type === 'internal' ? Number(info.forwardFee) : 0,
    ihr_fee: info.type === 'internal' ? Number(info.ihrFee) : 0,
    destination: info.type === 'external-out' ? undefined : tonapiAccount(info.dest),
    source: info.type === 'external-in' ? undefined : tonapiAccount(info.src),
    import_fee: 0,
    created_at: info.type === 'external-in' ? 0 : info.createdAt,
    ...(op !== undefined ? { op_code: '0x' + op.toString(16).padStart(8, '0') } : {}),
    ...(text !== undefined ? { decoded_op_name: 'text_comment', decoded_body: { text } } : {}),
    raw_body: m.body.toBoc().toString('hex'),
    hash: beginCell().store(storeMessage(m)).endCell().hash().toString('hex'),
  };
}

function tonapiTxUncached(tx: Transaction) {
  const d = tx.description;
  const g = d.type === 'generic' ? d : undefined;
  const cp = g?.computePhase;
  const success = !!g && !g.aborted && cp?.type === 'vm' && cp.success && (g.actionPhase?.success ?? true);
  return {
    hash: tx.hash().toString('hex'),
    lt: Number(tx.lt),
    account: { address: new Address(0, Buffer.from(tx.address.toString(16).padStart(64, '0'), 'hex')).toRawString(), is_scam: false, is_wallet: true },
    success,
    utime: tx.now,
    orig_status: tx.oldStatus === 'non-existing' ? 'nonexist' : tx.oldStatus,
    end_status: tx.endStatus === 'non-existing' ? 'nonexist' : tx.endStatus,
    total_fees: Number(tx.totalFees.coins),
    end_balance: 0,
    transaction_type: 'TransOrd',
    state_update_old: tx.stateUpdate.oldHash.toString('hex'),
    state_update_new: tx.stateUpdate.newHash.toString('hex'),
    in_msg: tx.inMessage ? tonapiMessage(tx.inMessage) : undefined,
    out_msgs: [...tx.outMessages.values()].map(tonapiMessage),
    block: `(0,8000000000000000,${Number(tx.lt / 1_000_000n)})`,
    prev_trans_hash: tx.prevTransactionHash.toString(16).padStart(64, '0'),
    prev_trans_lt: Number(tx.prevTransactionLt),
    compute_phase: cp?.type === 'vm' ? { skipped: false, success: cp.success, gas_fees: Number(cp.gasFees), gas_used: Number(cp.gasUsed), vm_steps: cp.vmSteps, exit_code: cp.exitCode } : { skipped: true, skip_reason: cp?.type === 'skipped' ? cp.reason : 'cskip_no_state' },
    ...(g?.actionPhase ? { action_phase: { success: g.actionPhase.success, result_code: g.actionPhase.resultCode, total_actions: g.actionPhase.totalActions, skipped_actions: g.actionPhase.skippedActions, fwd_fees: Number(g.actionPhase.totalFwdFees ?? 0n), total_fees: Number(g.actionPhase.totalActionFees ?? 0n) } } : {}),
    aborted: g?.aborted ?? false,
    destroyed: g?.destroyed ?? false,
    raw: txCell(tx).toBoc().toString('hex'),
  };
}

/** tonapi v2 stand-in. */
export async function startTonapi(store: TonTxStore): Promise<StandinServer> {
  return serve(({ method, url }) => {
    const m = /^\/v2\/blockchain\/accounts\/([^/]+)\/transactions$/.exec(url.pathname);
    if (method !== 'GET' || !m) return { status: 404, body: { error: 'not found' } };
    let address: Address;
    try {
      address = Address.parse(decodeURIComponent(m[1]!));
    } catch {
      return { status: 400, body: { error: 'can\'t decode address' } };
    }
    const q = url.searchParams;
    const limit = Math.min(Number(q.get('limit') ?? 100), 1000);
    let list = [...store.of(address)];
    if (q.get('before_lt')) list = list.filter((t) => t.lt < BigInt(q.get('before_lt')!));
    if (q.get('after_lt')) list = list.filter((t) => t.lt > BigInt(q.get('after_lt')!));
    if (q.get('sort_order') === 'asc') list.reverse();
    return { body: { transactions: list.slice(0, limit).map(tonapiTx) } };
  }, (status) => ({ error: status === 429 ? 'rate limit: free tier 1 rps' : `HTTP ${status}` }));
}
