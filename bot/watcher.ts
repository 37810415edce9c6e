/**
 * Live status on an invoice message: while an invoice is open, its message is re-rendered from
 * the workflow's query every few seconds and edited when something changed (status, countdown,
 * the access key once fulfilled). Purely a view: it is in memory, and a restarted bot simply has
 * no watchers until the customer presses a button (the durable notifications come from the
 * payment workflows through the notifier).
 */
import { GrammyError, type Api, type InlineKeyboard } from 'grammy';
import type { Logger } from '../common/logger.js';
import type { InvoiceView } from '../workflows/payments/contract.js';
import { isFinal, type PaymentsBackend } from './backend.js';

interface Watch {
  chatId: number;
  messageId: number;
  invoiceId: string;
  locale: string;
  last: string;
  timer?: NodeJS.Timeout;
  until: number;
}

export class InvoiceWatcher {
  private readonly watches = new Map<string, Watch>();
  private stopped = false;

  constructor(
    private readonly deps: {
      api: Api;
      backend: PaymentsBackend;
      intervalMs: number;
      render: (view: InvoiceView, locale: string) => { caption: string; keyboard: InlineKeyboard | undefined };
      logger: Logger;
      /** Longest a message is watched (the payment window plus the chain's finality fits well inside). */
      maxWatchMs?: number;
    },
  ) {}

  get size(): number {
    return this.watches.size;
  }

  watch(w: { chatId: number; messageId: number; invoiceId: string; locale: string; last: string }): void {
    if (this.stopped) return;
    const key = `${w.chatId}:${w.messageId}`;
    this.cancel(key);
    const entry: Watch = { ...w, until: Date.now() + (this.deps.maxWatchMs ?? 3 * 3600_000) };
    this.watches.set(key, entry);
    this.schedule(key, entry);
  }

  stop(): void {
    this.stopped = true;
    for (const key of [...this.watches.keys()]) this.cancel(key);
  }

  private cancel(key: string) {
    const w = this.watches.get(key);
    if (w?.timer) clearTimeout(w.timer);
    this.watches.delete(key);
  }

  private schedule(key: string, w: Watch) {
    w.timer = setTimeout(() => void this.tick(key, w), this.deps.intervalMs);
    w.timer.unref();
  }

  private async tick(key: string, w: Watch): Promise<void> {
    if (this.watches.get(key) !== w) return;
    let done = Date.now() > w.until;
    try {
      const view = await this.deps.backend.getInvoice(w.invoiceId);
      if (!view) done = true;
      else {
        const { caption, keyboard } = this.deps.render(view, w.locale);
        if (caption !== w.last) {
          await this.deps.api.editMessageCaption(w.chatId, w.messageId, { caption, parse_mode: 'HTML', reply_markup: keyboard });
          w.last = caption;
        }
        if (isFinal(view.status)) done = true;
      }
    } catch (err) {
      const gone = err instanceof GrammyError && err.error_code === 400 && /not found|can't be edited/.test(err.description);
      if (!(err instanceof GrammyError && /not modified/.test(err.description))) {
        this.deps.logger.warn('invoice view refresh failed', { invoiceId: w.invoiceId, error: err instanceof Error ? err.message : String(err) });
      }
      if (gone) done = true;
    }
    if (this.watches.get(key) !== w) return;
    if (done) this.watches.delete(key);
    else this.schedule(key, w);
  }
}
