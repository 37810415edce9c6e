/**
 * Local stand-ins of TronGrid and TronScan over one in-memory TRC-20 ledger, answering in the
 * real wire formats (see ../shared/design/NOTES-payments.md):
 * - TronGrid `GET /v1/accounts/{addr}/transactions/trc20` (only_confirmed / only_unconfirmed,
 *   only_to / only_from, contract_address, min/max_timestamp, order_by, limit ≤ 200, fingerprint
 *   pagination with meta.fingerprint + links.next) and `POST /walletsolidity/gettransactioninfobyid`
 *   (`{}` until solidified; receipt.result and the Transfer log after).
 * - TronScan `GET /api/token_trc20/transfers` (toAddress / fromAddress / relatedAddress,
 *   contract_address, start_timestamp / end_timestamp, start / limit; token_transfers[] + total).
 * Errors as TronGrid sends them: `{success:false, error, statusCode}`. Faults per server.
 */
import crypto from 'node:crypto';
import { TronWeb } from 'tronweb';
import { serve, type StandinServer } from './http.js';

export const USDT_CONTRACT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const TRANSFER_TOPIC = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** A fresh random TRON address (base58). */
export function randomTronAddress(): string {
  return TronWeb.address.fromHex('41' + crypto.randomBytes(20).toString('hex'));
}

export interface Trc20Transfer {
  txId: string;
  contract: string; // base58 token contract
  symbol: string;
  name: string;
  decimals: number;
  from: string;
  to: string;
  value: string; // base units
  timestampMs: number;
  blockNumber: number;
  /** Solidified (final) yet? */
  solidified: boolean;
  /** Contract result: SUCCESS, REVERT, OUT_OF_ENERGY, ... */
  result: string;
}

const hexCache = new Map<string, string>();
const hex = (a: string) => {
  let h = hexCache.get(a);
  if (h === undefined) hexCache.set(a, (h = TronWeb.address.toHex(a).toLowerCase()));
  return h;
};
const pad32 = (h: string) => h.padStart(64, '0');

export class TronLedger {
  readonly transfers: Trc20Transfer[] = [];
  private block = 60_000_000;

  /** Records a transfer (defaults: real USDT, success, not yet solidified, now). Returns it. */
  add(t: Partial<Trc20Transfer> & { to: string; value: string }): Trc20Transfer {
    const full: Trc20Transfer = {
      txId: crypto.randomBytes(32).toString('hex'),
      contract: USDT_CONTRACT,
      symbol: 'USDT',
      name: 'Tether USD',
      decimals: 6,
      from: randomTronAddress(),
      timestampMs: Date.now(),
      blockNumber: ++this.block,
      solidified: false,
      result: 'SUCCESS',
      ...t,
    };
    this.transfers.push(full);
    return full;
  }

  solidify(txId: string): void {
    const t = this.transfers.find((x) => x.txId === txId);
    if (!t) throw new Error(`no such transfer ${txId}`);
    t.solidified = true;
  }
}

function tronError(status: number) {
  return { success: false, error: status === 429 ? 'request rate exceeded the allowed_rps' : `HTTP ${status}`, statusCode: status };
}

/** TronGrid stand-in over `ledger`. */
export async function startTronGrid(ledger: TronLedger): Promise<StandinServer> {
  let server: StandinServer;
  server = await serve(({ method, url, body }) => {
    const m = /^\/v1\/accounts\/([^/]+)\/transactions\/trc20$/.exec(url.pathname);
    if (method === 'GET' && m) {
      const addr = decodeURIComponent(m[1]!);
      if (!TronWeb.isAddress(addr)) return { status: 400, body: { success: false, error: 'invalid address', statusCode: 400 } };
      const q = url.searchParams;
      const onlyConfirmed = q.get('only_confirmed') === 'true';
      const onlyUnconfirmed = q.get('only_unconfirmed') === 'true';
      if (onlyConfirmed && onlyUnconfirmed) return { status: 400, body: { success: false, error: 'only_confirmed and only_unconfirmed cannot be both true', statusCode: 400 } };
      const limit = Number(q.get('limit') ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) return { status: 400, body: { success: false, error: 'limit must be in [1, 200]', statusCode: 400 } };
      const contract = q.get('contract_address');
      const minTs = Number(q.get('min_timestamp') ?? 0);
      const maxTs = Number(q.get('max_timestamp') ?? Number.MAX_SAFE_INTEGER);
      const asc = (q.get('order_by') ?? 'block_timestamp,desc') === 'block_timestamp,asc';
      let rows = ledger.transfers.filter((t) => {
        const isTo = hex(t.to) === hex(addr);
        const isFrom = hex(t.from) === hex(addr);
        if (q.get('only_to') === 'true' ? !isTo : q.get('only_from') === 'true' ? !isFrom : !(isTo || isFrom)) return false;
        if (contract && hex(t.contract) !== hex(contract)) return false;
        if (onlyConfirmed && !t.solidified) return false;
        if (onlyUnconfirmed && t.solidified) return false;
        return t.timestampMs >= minTs && t.timestampMs <= maxTs;
      });
      rows = rows.sort((a, b) => (asc ? a.timestampMs - b.timestampMs : b.timestampMs - a.timestampMs));
      const offset = q.get('fingerprint') ? Number(Buffer.from(q.get('fingerprint')!, 'base64url').toString('utf8').split(':')[1]) : 0;
      const page = rows.slice(offset, offset + limit);
      const more = offset + limit < rows.length;
      const meta: Record<string, unknown> = { at: Date.now(), page_size: page.length };
      if (more) {
        const fingerprint = Buffer.from(`offset:${offset + limit}`).toString('base64url');
        const next = new URLSearchParams(q);
        next.set('fingerprint', fingerprint);
        meta.fingerprint = fingerprint;
        meta.links = { next: `${server.url}${url.pathname}?${next}` };
      }
      return {
        body: {
          data: page.map((t) => ({
            transaction_id: t.txId,
            token_info: { symbol: t.symbol, address: t.contract, decimals: t.decimals, name: t.name },
            block_timestamp: t.timestampMs,
            from: t.from,
            to: t.to,
            type: 'Transfer',
            value: t.value,
          })),
          success: true,
          meta,
        },
      };
    }
    if (method === 'POST' && url.pathname === '/walletsolidity/gettransactioninfobyid') {
      const id = (body as { value?: string })?.value;
      const t = ledger.transfers.find((x) => x.txId === id);
      if (!t || !t.solidified) return { body: {} };
      const ok = t.result === 'SUCCESS';
      return {
        body: {
          id: t.txId,
          fee: 13_845_000,
          blockNumber: t.blockNumber,
          blockTimeStamp: t.timestampMs,
          contractResult: [ok ? '0000000000000000000000000000000000000000000000000000000000000001' : ''],
          contract_address: hex(t.contract),
          receipt: { energy_fee: 13_500_000, energy_usage_total: 64_285, net_usage: 345, result: t.result },
          ...(ok
            ? { log: [{ address: hex(t.contract).slice(2), topics: [TRANSFER_TOPIC, pad32(hex(t.from).slice(2)), pad32(hex(t.to).slice(2))], data: pad32(BigInt(t.value).toString(16)) }] }
            : { result: 'FAILED', resMessage: Buffer.from('REVERT opcode executed').toString('hex') }),
        },
      };
    }
    return { status: 404, body: { success: false, error: 'not found', statusCode: 404 } };
  }, tronError);
  return server;
}

/** TronScan stand-in over `ledger`. */
export async function startTronScan(ledger: TronLedger): Promise<StandinServer> {
  return serve(({ method, url }) => {
    if (method !== 'GET' || url.pathname !== '/api/token_trc20/transfers') return { status: 404, body: { message: 'not found' } };
    const q = url.searchParams;
    const start = Number(q.get('start') ?? 0);
    const limit = Math.min(Number(q.get('limit') ?? 20), 50);
    const contract = q.get('contract_address');
    const to = q.get('toAddress');
    const from = q.get('fromAddress');
    const related = q.get('relatedAddress');
    const minTs = Number(q.get('start_timestamp') ?? 0);
    const maxTs = Number(q.get('end_timestamp') ?? Number.MAX_SAFE_INTEGER);
    const rows = ledger.transfers
      .filter((t) => (!contract || hex(t.contract) === hex(contract)) && (!to || hex(t.to) === hex(to)) && (!from || hex(t.from) === hex(from)))
      .filter((t) => !related || hex(t.to) === hex(related) || hex(t.from) === hex(related))
      .filter((t) => t.timestampMs >= minTs && t.timestampMs <= maxTs)
      .sort((a, b) => b.timestampMs - a.timestampMs);
    return {
      body: {
        total: rows.length,
        rangeTotal: rows.length,
        contractInfo: {},
        token_transfers: rows.slice(start, start + limit).map((t) => ({
          transaction_id: t.txId,
          status: 0,
          block_ts: t.timestampMs,
          from_address: t.from,
          to_address: t.to,
          block: t.blockNumber,
          contract_address: t.contract,
          quant: t.value,
          approval_amount: '0',
          event_type: 'Transfer',
          contract_type: 'trc20',
          confirmed: t.solidified,
          contractRet: t.result,
          finalResult: t.result === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
          tokenInfo: { tokenId: t.contract, tokenAbbr: t.symbol, tokenName: t.name, tokenDecimal: t.decimals, tokenCanShow: 1, tokenType: 'trc20', tokenLevel: '2', vip: t.contract === USDT_CONTRACT },
          fromAddressIsContract: false,
          toAddressIsContract: false,
          revert: t.result !== 'SUCCESS',
        })),
      },
    };
  }, (status) => ({ message: `HTTP ${status}` }));
}
