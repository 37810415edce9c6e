/**
 * USDT TRC-20 payments: TronGrid (primary) and TronScan (fallback). A transfer counts only when
 * it is a Transfer of the real USDT contract (compared as decoded addresses, never by the
 * self-declared token symbol) to our address, of the exact amount, inside the invoice window,
 * and final: solidified with contract result SUCCESS. TronGrid's finality is checked on its
 * solidity node (`/walletsolidity/gettransactioninfobyid`), including the Transfer event log.
 */
import { TronWeb } from 'tronweb';
import { fetchJson, ProviderUnavailableError, type ChainProvider, type IncomingQuery, type IncomingScan, type IncomingTransfer, type PaymentObservation, type PaymentQuery, type PaymentScan } from './providers.js';

/**
 * How far behind the newest transfer read the next check starts again: a transfer shows up in the
 * index within seconds of its block, so one minute of overlap never misses one.
 */
export const TRON_CURSOR_OVERLAP_MS = 60_000;

/** The start of the next check: the newest transfer seen minus the overlap, never after a pending one. */
function tronCursor(q: PaymentQuery, seen: number[], pending: number[]): string | undefined {
  const from = Math.max(windowStart(q), seen.length ? Math.max(...seen) - TRON_CURSOR_OVERLAP_MS : 0);
  const c = pending.length ? Math.min(from, ...pending) : from;
  return String(Math.max(q.windowStartMs, c));
}

/** The watcher's next scan starts the overlap before the newest transfer it read (it skips the ones it already handled). */
function incomingSince(q: IncomingQuery): number {
  return cursorMs(q.sinceCursor) ?? q.sinceMs;
}
function incomingCursor(since: number, newest: number): string {
  return String(Math.max(since, newest - TRON_CURSOR_OVERLAP_MS));
}

function windowStart(q: PaymentQuery): number {
  return Math.max(q.windowStartMs, cursorMs(q.sinceCursor) ?? 0);
}

/** A block-time cursor (ms), or undefined when there is none or it is not one. */
function cursorMs(c: string | undefined): number | undefined {
  return c && /^\d+$/.test(c) ? Number(c) : undefined;
}

/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

/** Canonical form of a TRON address for comparison: lowercase hex with the 41 prefix; null when invalid. */
export function tronHex(address: string): string | null {
  if (typeof address !== 'string' || address.length === 0) return null;
  if (/^(41|0x)[0-9a-fA-F]{40}$/.test(address)) return '41' + address.slice(2).toLowerCase();
  const known = base58Hex.get(address);
  if (known !== undefined) return known;
  const hex = TronWeb.isAddress(address) ? TronWeb.address.toHex(address).toLowerCase() : null;
  // Every check decodes the merchant's and the contract's address on every row (base58 + two SHA-256s):
  // remember the last few thousand decodings. A pure function of its input, so caching cannot change a result.
  if (base58Hex.size >= 4096) base58Hex.clear();
  base58Hex.set(address, hex);
  return hex;
}
const base58Hex = new Map<string, string | null>();

/** The merchant's and the USDT contract's canonical hex, or a clear error naming the provider. */
function canonicalAddresses(provider: string, merchantAddress: string, usdtContract: string): { merchant: string; usdt: string } {
  const merchant = tronHex(merchantAddress);
  const usdt = tronHex(usdtContract);
  if (!merchant || !usdt) throw new Error(`${provider}: merchant or USDT contract address is not a TRON address`);
  return { merchant, usdt };
}

export interface TronProviderConfig {
  baseUrl: string;
  usdtContract: string;
  timeoutMs: number;
  apiKey?: string;
  /** Page size (TronGrid max 200, TronScan max 50). */
  pageSize?: number;
  /** Safety cap on pages read per check. */
  maxPages?: number;
}

interface TronGridTransfer {
  transaction_id: string;
  token_info?: { symbol?: string; address?: string; decimals?: number; name?: string };
  block_timestamp: number;
  from: string;
  to: string;
  type: string;
  value: string;
}

function expectArray(provider: string, body: unknown, key: string): unknown[] {
  const v = (body as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(v)) throw new ProviderUnavailableError(provider, `malformed response: no ${key}[]`);
  return v;
}

function amountMatches(value: unknown, q: PaymentQuery): boolean {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return false;
  return BigInt(value) === BigInt(q.amountBaseUnits);
}

/** TronGrid v1 API + its solidity node. */
export class TronGridProvider implements ChainProvider {
  readonly name = 'trongrid';
  constructor(private readonly cfg: TronProviderConfig) {}

  private headers(): Record<string, string> {
    return this.cfg.apiKey ? { 'TRON-PRO-API-KEY': this.cfg.apiKey } : {};
  }

  /** The account's incoming TRC-20 rows of the USDT contract in [minTs, maxTs], a page at a time (fingerprint pagination). */
  private async *pages(address: string, minTs: number, maxTs?: number): AsyncGenerator<TronGridTransfer[]> {
    const params = new URLSearchParams({
      only_to: 'true',
      limit: String(this.cfg.pageSize ?? 200),
      contract_address: this.cfg.usdtContract,
      min_timestamp: String(minTs),
      ...(maxTs !== undefined ? { max_timestamp: String(maxTs) } : {}),
      order_by: 'block_timestamp,asc',
    });
    const base = `${this.cfg.baseUrl.replace(/\/$/, '')}/v1/accounts/${encodeURIComponent(address)}/transactions/trc20`;
    for (let page = 0; page < (this.cfg.maxPages ?? 50); page++) {
      const body = (await fetchJson(`${base}?${params}`, {}, { provider: this.name, timeoutMs: this.cfg.timeoutMs, headers: this.headers() })) as {
        success?: boolean;
        error?: string;
        meta?: { fingerprint?: string };
      };
      if (body?.success === false) throw new ProviderUnavailableError(this.name, `error: ${String(body.error)}`);
      yield expectArray(this.name, body, 'data') as TronGridTransfer[];
      const next = body.meta?.fingerprint;
      if (!next) break;
      params.set('fingerprint', next);
    }
  }

  /** A real USDT Transfer to the merchant (the token compared by contract address, never by symbol). */
  private isUsdtTo(raw: TronGridTransfer, usdt: string, merchant: string): boolean {
    return raw?.type === 'Transfer' && tronHex(raw.token_info?.address ?? '') === usdt && tronHex(raw.to) === merchant;
  }

  async findPayments(q: PaymentQuery): Promise<PaymentScan> {
    const { merchant, usdt } = this.addresses(q.merchantAddress);
    const candidates: TronGridTransfer[] = [];
    const seen: number[] = [];
    for await (const rows of this.pages(q.merchantAddress, windowStart(q), q.windowEndMs)) {
      for (const raw of rows) {
        if (typeof raw?.block_timestamp === 'number') seen.push(raw.block_timestamp);
        if (!this.isUsdtTo(raw, usdt, merchant)) continue; // a fake token with the USDT symbol stops here
        if (!amountMatches(raw.value, q)) continue;
        if (!(raw.block_timestamp >= q.windowStartMs && raw.block_timestamp <= q.windowEndMs)) continue;
        candidates.push(raw);
      }
    }
    const out: PaymentObservation[] = [];
    for (const c of candidates) {
      if (q.excludeTxHashes?.includes(c.transaction_id)) continue;
      const state = await this.finality(c, usdt, merchant);
      if (state === 'failed') continue; // solidified but reverted / no USDT Transfer to us: never a payment
      out.push({ txHash: c.transaction_id, amountBaseUnits: c.value, timestampMs: c.block_timestamp, final: state === 'final', from: c.from });
    }
    return { observations: out, cursor: tronCursor(q, seen, out.filter((o) => !o.final).map((o) => o.timestampMs)) };
  }

  async listIncoming(q: IncomingQuery): Promise<IncomingScan> {
    const { merchant, usdt } = this.addresses(q.merchantAddress);
    const since = incomingSince(q);
    const transfers: IncomingTransfer[] = [];
    let newest = 0;
    for await (const rows of this.pages(q.merchantAddress, since)) {
      for (const raw of rows) {
        if (typeof raw?.block_timestamp === 'number') newest = Math.max(newest, raw.block_timestamp);
        if (!this.isUsdtTo(raw, usdt, merchant) || typeof raw.value !== 'string' || !/^\d+$/.test(raw.value)) continue;
        transfers.push({ txHash: raw.transaction_id, amountBaseUnits: raw.value, timestampMs: raw.block_timestamp });
      }
    }
    return { transfers, cursor: incomingCursor(since, newest) };
  }

  private addresses(merchantAddress: string) {
    return canonicalAddresses(this.name, merchantAddress, this.cfg.usdtContract);
  }

  /** Solidified and SUCCESS, with the USDT Transfer event to us of this amount in the receipt's logs. */
  private async finality(t: TronGridTransfer, usdtHex: string, merchantHex: string): Promise<'final' | 'pending' | 'failed'> {
    const info = (await fetchJson(
      `${this.cfg.baseUrl.replace(/\/$/, '')}/walletsolidity/gettransactioninfobyid`,
      { method: 'POST', body: { value: t.transaction_id } },
      { provider: this.name, timeoutMs: this.cfg.timeoutMs, headers: this.headers() },
    )) as { id?: string; blockNumber?: number; receipt?: { result?: string }; log?: Array<{ address?: string; topics?: string[]; data?: string }> };
    if (!info || !info.id || info.blockNumber === undefined) return 'pending'; // {} = not solidified yet
    if (info.receipt?.result !== 'SUCCESS') return 'failed';
    const logged = (info.log ?? []).some(
      (l) =>
        ('41' + (l.address ?? '').toLowerCase()) === usdtHex &&
        l.topics?.[0]?.toLowerCase() === TRANSFER_TOPIC &&
        l.topics?.[2]?.toLowerCase().endsWith(merchantHex.slice(2)) === true &&
        l.data !== undefined && /^[0-9a-fA-F]+$/.test(l.data) && BigInt('0x' + l.data) === BigInt(t.value),
    );
    return logged ? 'final' : 'failed';
  }
}

interface TronScanTransfer {
  transaction_id: string;
  block_ts: number;
  from_address: string;
  to_address: string;
  contract_address: string;
  quant: string;
  confirmed: boolean;
  contractRet?: string;
  finalResult?: string;
  revert?: boolean;
  event_type?: string;
  tokenInfo?: { tokenId?: string; tokenAbbr?: string; tokenDecimal?: number };
}

/** TronScan's public API (`/api/token_trc20/transfers`), offset-paginated. */
export class TronScanProvider implements ChainProvider {
  readonly name = 'tronscan';
  constructor(private readonly cfg: TronProviderConfig) {}

  /** Transfers of the USDT contract to `address` in [minTs, maxTs], a page at a time (offset pagination). */
  private async *pages(address: string, minTs: number, maxTs: number): AsyncGenerator<TronScanTransfer[]> {
    const limit = this.cfg.pageSize ?? 50;
    for (let page = 0, start = 0; page < (this.cfg.maxPages ?? 50); page++, start += limit) {
      const params = new URLSearchParams({
        toAddress: address,
        contract_address: this.cfg.usdtContract,
        start_timestamp: String(minTs),
        end_timestamp: String(maxTs),
        start: String(start),
        limit: String(limit),
      });
      const body = (await fetchJson(`${this.cfg.baseUrl.replace(/\/$/, '')}/api/token_trc20/transfers?${params}`, {}, {
        provider: this.name,
        timeoutMs: this.cfg.timeoutMs,
        headers: this.cfg.apiKey ? { 'TRON-PRO-API-KEY': this.cfg.apiKey } : {},
      })) as { total?: number };
      const rows = expectArray(this.name, body, 'token_transfers') as TronScanTransfer[];
      yield rows;
      if (rows.length < limit || start + limit >= (body.total ?? 0)) break;
    }
  }

  /** A real USDT Transfer to the merchant (the token compared by contract address, never by symbol). */
  private isUsdtTo(r: TronScanTransfer, usdt: string, merchant: string): boolean {
    if (r.event_type !== undefined && r.event_type !== 'Transfer') return false;
    if (tronHex(r.contract_address) !== usdt || tronHex(r.tokenInfo?.tokenId ?? r.contract_address) !== usdt) return false;
    return tronHex(r.to_address) === merchant;
  }

  async findPayments(q: PaymentQuery): Promise<PaymentScan> {
    const { merchant, usdt } = this.addresses(q.merchantAddress);
    const out: PaymentObservation[] = [];
    const seen: number[] = [];
    for await (const rows of this.pages(q.merchantAddress, windowStart(q), q.windowEndMs)) {
      for (const r of rows) {
        if (typeof r.block_ts === 'number') seen.push(r.block_ts);
        if (!this.isUsdtTo(r, usdt, merchant)) continue;
        if (!amountMatches(r.quant, q)) continue;
        if (!(r.block_ts >= q.windowStartMs && r.block_ts <= q.windowEndMs)) continue;
        if (q.excludeTxHashes?.includes(r.transaction_id)) continue;
        const succeeded = r.contractRet === 'SUCCESS' && (r.finalResult ?? 'SUCCESS') === 'SUCCESS' && r.revert !== true;
        if (r.confirmed === true && !succeeded) continue; // final and failed: never a payment
        const final = r.confirmed === true && succeeded;
        out.push({ txHash: r.transaction_id, amountBaseUnits: r.quant, timestampMs: r.block_ts, final, from: r.from_address });
      }
    }
    return { observations: out, cursor: tronCursor(q, seen, out.filter((o) => !o.final).map((o) => o.timestampMs)) };
  }

  async listIncoming(q: IncomingQuery): Promise<IncomingScan> {
    const { merchant, usdt } = this.addresses(q.merchantAddress);
    const since = incomingSince(q);
    const transfers: IncomingTransfer[] = [];
    let newest = 0;
    // TronScan wants an end; "a minute from now" covers clock skew between us and its index.
    for await (const rows of this.pages(q.merchantAddress, since, Date.now() + 60_000)) {
      for (const r of rows) {
        if (typeof r.block_ts === 'number') newest = Math.max(newest, r.block_ts);
        if (!this.isUsdtTo(r, usdt, merchant) || typeof r.quant !== 'string' || !/^\d+$/.test(r.quant)) continue;
        transfers.push({ txHash: r.transaction_id, amountBaseUnits: r.quant, timestampMs: r.block_ts });
      }
    }
    return { transfers, cursor: incomingCursor(since, newest) };
  }

  private addresses(merchantAddress: string) {
    return canonicalAddresses(this.name, merchantAddress, this.cfg.usdtContract);
  }
}
