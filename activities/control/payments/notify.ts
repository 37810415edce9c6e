/**
 * Customer notifications (access key delivered, payment problems, subscription reminders).
 *
 * The Telegram bot delivers them: it passes a `send` function (a Telegram message) when it builds
 * the control activities. UNTIL THE BOT WIRES THAT, notifications are only recorded under
 * <dataDir>/payments/notifications/ and logged (without the key) — nothing reaches the customer.
 *
 * Exactly once per idempotency key: the record is created atomically before sending and marked
 * sent after, so a retried activity neither loses nor repeats a message already sent. (A crash
 * between the send and the mark can repeat one message: the only at-least-once gap.)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../common/logger.js';

export interface CustomerNotification {
  /** Same key = same message: e.g. `<invoiceId>/access-key`. */
  idempotencyKey: string;
  customerId: string;
  kind: 'access-key' | 'payment-problem' | 'subscription-reminder' | 'subscription-expired' | 'subscription-extended';
  text: string;
  /** Structured extras for the sender (e.g. the access key, an invoice id). */
  data?: Record<string, string>;
}

export type NotificationSender = (n: CustomerNotification) => Promise<void>;

export interface NotifyResult {
  delivered: 'sent' | 'recorded-only';
  duplicate: boolean;
}

export function notificationDir(dataDir: string): string {
  return path.join(dataDir, 'payments', 'notifications');
}

export function createNotifier(dataDir: string, logger: Logger, send?: NotificationSender) {
  const dir = notificationDir(dataDir);
  return async function notifyCustomer(n: CustomerNotification): Promise<NotifyResult> {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${encodeURIComponent(n.idempotencyKey)}.json`);
    const sentMark = `${file}.sent`;
    if (fs.existsSync(sentMark)) return { delivered: 'sent', duplicate: true };
    let duplicate = false;
    const tmp = `${file}.${crypto.randomUUID()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...n, recordedAt: new Date().toISOString() }) + '\n');
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      duplicate = true;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    if (!send) {
      if (!duplicate) logger.info('customer notification recorded (Telegram delivery not wired: nothing sent)', { customerId: n.customerId, kind: n.kind, idempotencyKey: n.idempotencyKey });
      return { delivered: 'recorded-only', duplicate };
    }
    await send(n);
    fs.writeFileSync(sentMark, new Date().toISOString());
    return { delivered: 'sent', duplicate };
  };
}
