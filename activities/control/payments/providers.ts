/**
 * Chain data providers behind one interface, tried in order (primary, then fallback). A provider
 * that is down — 5xx, 429 beyond its own retry, a timeout, a network error, a malformed answer —
 * is skipped for the next; when all fail the check fails retryably and the activity's RetryPolicy
 * backs off. Providers only report what they see; the workflow decides what it means.
 */
import type { Currency } from '../../../workflows/payments/contract.js';

/** What to look for: transfers to `merchantAddress` inside [windowStartMs, windowEndMs]. */
export interface PaymentQuery {
  invoiceId: string;
  currency: Currency;
  merchantAddress: string;
  /** Exact expected amount (base units). USDT: only transfers of exactly this amount match. */
  amountBaseUnits: string;
  /** TON: the text comment the transfer must carry. */
  comment?: string;
  windowStartMs: number;
  windowEndMs: number;
  /** Transactions already claimed by another invoice: never report them again. */
  excludeTxHashes?: string[];
  /**
   * Where the previous check of this invoice stopped (from its PaymentScan.cursor): only newer
   * transactions need reading. TON: a logical time; TRON: a block timestamp (ms). Opaque to callers.
   */
  sinceCursor?: string;
}

/** One check's findings and where the next check may resume. */
export interface PaymentScan {
  observations: PaymentObservation[];
  cursor?: string;
}

/** A transfer that matches the invoice (recipient, token/comment, window). */
export interface PaymentObservation {
  txHash: string;
  amountBaseUnits: string;
  timestampMs: number;
  /** Irreversible and successful (TRON: solidified + SUCCESS; TON: committed, phases succeeded). */
  final: boolean;
  from?: string;
}

export interface ChainProvider {
  readonly name: string;
  findPayments(q: PaymentQuery): Promise<PaymentScan>;
  /** Every incoming transfer to the merchant newer than the cursor (the chain watcher's scan). */
  listIncoming(q: IncomingQuery): Promise<IncomingScan>;
}

/** What the chain watcher asks: transfers to `merchantAddress` after `sinceCursor` (or after `sinceMs` on the first scan). */
export interface IncomingQuery {
  merchantAddress: string;
  sinceCursor?: string;
  sinceMs: number;
}

/**
 * A transfer to the merchant, as listed: enough to tell which invoice it may pay (TON: the
 * comment; USDT: the amount), nothing more. Whether it pays that invoice is decided by the
 * invoice's own check (findPayments: token contract, finality, success, window, ledger).
 */
export interface IncomingTransfer {
  txHash: string;
  amountBaseUnits: string;
  timestampMs: number;
  comment?: string;
}

export interface IncomingScan {
  transfers: IncomingTransfer[];
  /** Where the next scan starts (same meaning as PaymentScan.cursor). */
  cursor?: string;
}

/** A provider could not answer (outage, throttling, timeout, malformed data): try the next one. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${provider}: ${message}`);
  }
}

export interface FailoverResult {
  provider: string;
  observations: PaymentObservation[];
  cursor?: string;
  /** Providers skipped before the answering one, with why. */
  skipped: Array<{ provider: string; error: string }>;
}

/** Asks the providers in order; the first that answers wins. Throws an AggregateError when none does. */
async function firstAnswer<T>(providers: ChainProvider[], ask: (p: ChainProvider) => Promise<T>): Promise<{ answer: T; provider: string; skipped: FailoverResult['skipped'] }> {
  const skipped: FailoverResult['skipped'] = [];
  for (const p of providers) {
    try {
      return { answer: await ask(p), provider: p.name, skipped };
    } catch (err) {
      skipped.push({ provider: p.name, error: (err as Error).message });
    }
  }
  throw new AggregateError([], `no provider answered: ${skipped.map((s) => s.error).join(' | ')}`);
}

/** The invoice's check, failing over; transactions another invoice claimed are dropped. */
export async function findWithFailover(providers: ChainProvider[], q: PaymentQuery): Promise<FailoverResult> {
  const { answer, provider, skipped } = await firstAnswer(providers, (p) => p.findPayments(q));
  const exclude = new Set(q.excludeTxHashes ?? []);
  return { provider, observations: answer.observations.filter((o) => !exclude.has(o.txHash)), cursor: answer.cursor, skipped };
}

/** The watcher's scan, failing over the same way. */
export async function listWithFailover(providers: ChainProvider[], q: IncomingQuery): Promise<IncomingScan & { provider: string; skipped: FailoverResult['skipped'] }> {
  const { answer, provider, skipped } = await firstAnswer(providers, (p) => p.listIncoming(q));
  return { ...answer, provider, skipped };
}

export interface HttpOptions {
  provider: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  /** How many times a 429/503 is retried here (after Retry-After, at most 1 s) before giving up. */
  retries?: number;
}

/** GET/POST JSON with a timeout; 429/5xx/timeouts/network errors become ProviderUnavailableError. */
export async function fetchJson(url: string, init: { method?: 'GET' | 'POST'; body?: unknown }, opts: HttpOptions): Promise<unknown> {
  const retries = opts.retries ?? 1;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      throw new ProviderUnavailableError(opts.provider, `request failed: ${(err as Error).name === 'TimeoutError' ? `timed out after ${opts.timeoutMs} ms` : (err as Error).message}`);
    }
    if (res.status === 429 || res.status === 403 || res.status >= 500) {
      const text = await res.text().catch(() => '');
      if (attempt < retries && (res.status === 429 || res.status === 503)) {
        const after = Number(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, Math.min(1000, Number.isFinite(after) && after > 0 ? after * 1000 : 200 * 2 ** attempt)));
        continue;
      }
      throw new ProviderUnavailableError(opts.provider, `HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok) throw new ProviderUnavailableError(opts.provider, `HTTP ${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`, res.status);
    try {
      return await res.json();
    } catch {
      throw new ProviderUnavailableError(opts.provider, 'response is not JSON');
    }
  }
}
