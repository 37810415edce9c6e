/**
 * TON payments: toncenter through @ton/ton's TonClient (primary) and tonapi (fallback). A
 * transaction counts only when its inbound message is internal, not bounced, addressed to our
 * wallet (compared as parsed addresses), carries the invoice id as a text comment, and the
 * transaction succeeded (compute phase ran and succeeded, action phase not failed, not aborted,
 * no outgoing messages — i.e. nothing was bounced back). Value is reported in nanoTON; the
 * workflow judges under/overpayment. toncenter only serves committed transactions: final.
 */
import { Address, Cell, loadTransaction, type Transaction } from '@ton/core';
import { TonClient } from '@ton/ton';
import { fetchJson, ProviderUnavailableError, type ChainProvider, type IncomingQuery, type IncomingScan, type IncomingTransfer, type PaymentObservation, type PaymentQuery, type PaymentScan } from './providers.js';

/** The text comment of a message body (op 0 + string tail), or undefined. */
export function readComment(body: Cell | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const s = body.beginParse();
    if (s.remainingBits < 32 || s.loadUint(32) !== 0) return undefined;
    return s.loadStringTail();
  } catch {
    return undefined;
  }
}

function parseAddress(a: string | undefined): Address | null {
  if (!a) return null;
  try {
    return Address.parse(a);
  } catch {
    return null;
  }
}

/** Why a transaction does not pay the invoice, or null when it does (amount aside). */
export function tonMismatch(tx: Transaction, merchant: Address, comment: string): string | null {
  const msg = tx.inMessage;
  if (!msg || msg.info.type !== 'internal') return 'not an incoming internal message';
  if (msg.info.bounced) return 'bounced';
  if (!msg.info.dest.equals(merchant)) return 'not addressed to us';
  if (readComment(msg.body) !== comment) return 'comment differs';
  const d = tx.description;
  if (d.type !== 'generic') return `description ${d.type}`;
  if (d.aborted) return 'aborted';
  if (d.computePhase.type !== 'vm' || !d.computePhase.success) return 'compute phase failed or skipped';
  if (d.actionPhase && !d.actionPhase.success) return 'action phase failed';
  if (tx.outMessages.size > 0) return 'sent messages out (bounce/refund)';
  return null;
}

export interface TonProviderConfig {
  endpoint: string;
  timeoutMs: number;
  apiKey?: string;
  pageSize?: number;
  maxPages?: number;
}

/**
 * TonClient with access to toncenter's JSON rows (same transport, same response validation) so a
 * check can skip transactions whose decoded comment already differs before parsing their BoC:
 * parsing every transaction of a busy merchant wallet on every check costs more than the rest.
 */
class ScanningTonClient extends TonClient {
  async getTransactionRows(address: Address, opts: { limit: number; lt?: string; hash?: string; to_lt?: string; inclusive?: boolean; archival?: boolean }) {
    return this.api.getTransactions(address, opts);
  }
}

/** The comment toncenter decoded from a message (`msg.dataText`, base64), or undefined when it did not. */
function toncenterText(msgData: { '@type': string; text?: string } | undefined): string | undefined {
  if (msgData?.['@type'] !== 'msg.dataText' || msgData.text === undefined) return undefined;
  return Buffer.from(msgData.text, 'base64').toString('utf8');
}

/** toncenter v2 JSON-RPC via TonClient (the production path; the tests serve it from @ton/sandbox). */
export class ToncenterProvider implements ChainProvider {
  readonly name = 'toncenter';
  private readonly client: ScanningTonClient;
  constructor(private readonly cfg: TonProviderConfig) {
    this.client = new ScanningTonClient({ endpoint: cfg.endpoint, apiKey: cfg.apiKey, timeout: cfg.timeoutMs });
  }

  /** The account's transactions newer than lt `since`, newest first, a page at a time, until one older than `stopBeforeMs`. */
  private async *pages(merchant: Address, since: string | undefined, stopBeforeMs: number) {
    const limit = this.cfg.pageSize ?? 50;
    let cursor: { lt: string; hash: string } | undefined;
    for (let page = 0; page < (this.cfg.maxPages ?? 20); page++) {
      let rows: Awaited<ReturnType<ScanningTonClient['getTransactionRows']>>;
      try {
        rows = await this.client.getTransactionRows(merchant, { limit, archival: true, ...(since ? { to_lt: since } : {}), ...(cursor ? { lt: cursor.lt, hash: cursor.hash, inclusive: false } : {}) });
      } catch (err) {
        const e = err as { response?: { status?: number }; message?: string };
        throw new ProviderUnavailableError(this.name, e.response?.status ? `HTTP ${e.response.status}` : String(e.message), e.response?.status);
      }
      yield rows.filter((row) => !since || BigInt(row.transaction_id.lt) > BigInt(since));
      const last = rows[rows.length - 1];
      if (rows.length < limit || !last || last.utime * 1000 < stopBeforeMs || (since && BigInt(last.transaction_id.lt) <= BigInt(since))) break;
      cursor = { lt: last.transaction_id.lt, hash: last.transaction_id.hash };
    }
  }

  async findPayments(q: PaymentQuery): Promise<PaymentScan> {
    const merchant = parseAddress(q.merchantAddress);
    if (!merchant || !q.comment) throw new Error('toncenter: merchant address or comment missing');
    const out: PaymentObservation[] = [];
    const since = ltCursor(q.sinceCursor);
    let newest: bigint | undefined;
    for await (const rows of this.pages(merchant, since, q.windowStartMs)) {
      for (const row of rows) {
        if (newest === undefined || BigInt(row.transaction_id.lt) > newest) newest = BigInt(row.transaction_id.lt);
        const ms = row.utime * 1000;
        if (ms < q.windowStartMs || ms > q.windowEndMs) continue;
        const text = toncenterText(row.in_msg?.msg_data as { '@type': string; text?: string } | undefined);
        if (text !== undefined && text !== q.comment) continue; // toncenter's decoding says: another comment
        // The decision is made on the transaction itself, parsed from its BoC.
        let tx: Transaction;
        try {
          tx = loadTransaction(Cell.fromBoc(Buffer.from(row.data, 'base64'))[0]!.beginParse());
        } catch {
          throw new ProviderUnavailableError(this.name, `malformed transaction BoC at lt ${row.transaction_id.lt}`);
        }
        if (tx.hash().toString('base64') !== row.transaction_id.hash) throw new ProviderUnavailableError(this.name, `transaction ${row.transaction_id.lt}: BoC does not match its hash`);
        if (tonMismatch(tx, merchant, q.comment) !== null) continue;
        const info = tx.inMessage!.info;
        if (info.type !== 'internal') continue;
        const txHash = tx.hash().toString('hex');
        if (q.excludeTxHashes?.includes(txHash)) continue;
        out.push({ txHash, amountBaseUnits: info.value.coins.toString(), timestampMs: ms, final: true, from: info.src.toRawString() });
      }
    }
    // TON transactions are final once listed, and an account's list only grows at the top: the next
    // check needs only what is newer than the newest one read now.
    return { observations: out.sort((a, b) => a.timestampMs - b.timestampMs), cursor: nextLtCursor(newest, since) };
  }

  async listIncoming(q: IncomingQuery): Promise<IncomingScan> {
    const merchant = parseAddress(q.merchantAddress);
    if (!merchant) throw new Error('toncenter: merchant address missing');
    const since = ltCursor(q.sinceCursor);
    const transfers: IncomingTransfer[] = [];
    let newest: bigint | undefined;
    for await (const rows of this.pages(merchant, since, q.sinceMs)) {
      for (const row of rows) {
        if (newest === undefined || BigInt(row.transaction_id.lt) > newest) newest = BigInt(row.transaction_id.lt);
        const m = row.in_msg;
        // Internal messages only (an external-in has no source); the comment as toncenter decoded it.
        if (!m?.source || (!since && row.utime * 1000 < q.sinceMs)) continue;
        const comment = toncenterText(m.msg_data as { '@type': string; text?: string } | undefined);
        transfers.push({ txHash: Buffer.from(row.transaction_id.hash, 'base64').toString('hex'), amountBaseUnits: String(m.value), timestampMs: row.utime * 1000, ...(comment !== undefined ? { comment } : {}) });
      }
    }
    return { transfers: transfers.reverse(), cursor: nextLtCursor(newest, since) };
  }
}

/** A logical-time cursor, or undefined for "from the start of the window". */
function ltCursor(c: string | undefined): string | undefined {
  return c && /^\d+$/.test(c) ? c : undefined;
}

/** Where the next read starts: the newest logical time read now, else where this one started. */
function nextLtCursor(newest: bigint | undefined, since: string | undefined): string | undefined {
  return (newest ?? (since ? BigInt(since) : undefined))?.toString();
}

interface TonapiTx {
  hash: string;
  lt: number | string;
  utime: number;
  success: boolean;
  aborted: boolean;
  in_msg?: {
    msg_type: string;
    bounced: boolean;
    value: number | string;
    destination?: { address: string };
    source?: { address: string };
    decoded_op_name?: string;
    decoded_body?: { text?: string };
  };
  out_msgs: unknown[];
  compute_phase?: { skipped: boolean; success?: boolean };
  action_phase?: { success: boolean };
}

/** tonapi v2 `GET /v2/blockchain/accounts/{id}/transactions` (fallback). */
export class TonapiProvider implements ChainProvider {
  readonly name = 'tonapi';
  constructor(private readonly cfg: TonProviderConfig) {}

  /** The account's transactions newer than lt `since`, newest first, a page at a time, until one older than `stopBeforeMs`. */
  private async *pages(merchant: Address, since: string | undefined, stopBeforeMs: number): AsyncGenerator<TonapiTx[]> {
    const limit = this.cfg.pageSize ?? 100;
    let beforeLt: string | undefined;
    for (let page = 0; page < (this.cfg.maxPages ?? 20); page++) {
      const params = new URLSearchParams({ limit: String(limit), sort_order: 'desc', ...(beforeLt ? { before_lt: beforeLt } : {}), ...(since ? { after_lt: since } : {}) });
      const body = await fetchJson(`${this.cfg.endpoint.replace(/\/$/, '')}/v2/blockchain/accounts/${encodeURIComponent(merchant.toRawString())}/transactions?${params}`, {}, {
        provider: this.name,
        timeoutMs: this.cfg.timeoutMs,
        headers: this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {},
      });
      const txs = (body as { transactions?: TonapiTx[] })?.transactions;
      if (!Array.isArray(txs)) throw new ProviderUnavailableError(this.name, 'malformed response: no transactions[]');
      yield txs.filter((tx) => !since || BigInt(tx.lt) > BigInt(since));
      const last = txs[txs.length - 1];
      if (txs.length < limit || !last || last.utime * 1000 < stopBeforeMs) break;
      beforeLt = String(last.lt);
    }
  }

  async findPayments(q: PaymentQuery): Promise<PaymentScan> {
    const merchant = parseAddress(q.merchantAddress);
    if (!merchant || !q.comment) throw new Error('tonapi: merchant address or comment missing');
    const out: PaymentObservation[] = [];
    const since = ltCursor(q.sinceCursor);
    let newest: bigint | undefined;
    for await (const txs of this.pages(merchant, since, q.windowStartMs)) {
      for (const tx of txs) {
        if (newest === undefined || BigInt(tx.lt) > newest) newest = BigInt(tx.lt);
        const ms = tx.utime * 1000;
        if (ms < q.windowStartMs || ms > q.windowEndMs) continue;
        const m = tx.in_msg;
        if (!m || m.msg_type !== 'int_msg' || m.bounced) continue;
        const dest = parseAddress(m.destination?.address);
        if (!dest || !dest.equals(merchant)) continue;
        if (m.decoded_op_name !== 'text_comment' || m.decoded_body?.text !== q.comment) continue;
        if (!tx.success || tx.aborted || tx.compute_phase?.skipped !== false || tx.compute_phase.success !== true) continue;
        if (tx.action_phase && !tx.action_phase.success) continue;
        if (tx.out_msgs.length > 0) continue;
        if (q.excludeTxHashes?.includes(tx.hash)) continue;
        out.push({ txHash: tx.hash.toLowerCase(), amountBaseUnits: BigInt(m.value).toString(), timestampMs: ms, final: true, from: m.source?.address });
      }
    }
    return { observations: out.sort((a, b) => a.timestampMs - b.timestampMs), cursor: nextLtCursor(newest, since) };
  }

  async listIncoming(q: IncomingQuery): Promise<IncomingScan> {
    const merchant = parseAddress(q.merchantAddress);
    if (!merchant) throw new Error('tonapi: merchant address missing');
    const since = ltCursor(q.sinceCursor);
    const transfers: IncomingTransfer[] = [];
    let newest: bigint | undefined;
    for await (const txs of this.pages(merchant, since, q.sinceMs)) {
      for (const tx of txs) {
        if (newest === undefined || BigInt(tx.lt) > newest) newest = BigInt(tx.lt);
        const m = tx.in_msg;
        if (!m || m.msg_type !== 'int_msg' || (!since && tx.utime * 1000 < q.sinceMs)) continue;
        const comment = m.decoded_op_name === 'text_comment' ? m.decoded_body?.text : undefined;
        transfers.push({ txHash: tx.hash.toLowerCase(), amountBaseUnits: BigInt(m.value).toString(), timestampMs: tx.utime * 1000, ...(comment !== undefined ? { comment } : {}) });
      }
    }
    return { transfers: transfers.reverse(), cursor: nextLtCursor(newest, since) };
  }
}
