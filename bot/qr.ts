/** The QR image of an invoice (PNG), via the `qrcode` library. */
import QRCode from 'qrcode';
import type { Invoice } from '../workflows/payments/contract.js';

/** What a wallet should open: TON's transfer deeplink (amount in nanoTON + comment), or the TRON address. */
export function paymentUri(invoice: Invoice): string {
  if (invoice.currency === 'TON') {
    const q = new URLSearchParams({ amount: invoice.amountBaseUnits, text: invoice.comment ?? invoice.invoiceId });
    return `ton://transfer/${invoice.merchantAddress}?${q.toString()}`;
  }
  // TRC-20 has no URI scheme wallets agree on; every TRON wallet scans a bare address.
  return invoice.merchantAddress;
}

export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 });
}
