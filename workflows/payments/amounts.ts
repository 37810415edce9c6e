/**
 * Exact money arithmetic on base units (BigInt, no floats), shared by workflow code and activities.
 * USDT TRC-20 has 6 decimals; TON amounts are in nanoTON (9 decimals).
 */
import type { Currency } from './contract.js';

export const DECIMALS: Record<Currency, number> = { USDT_TRC20: 6, TON: 9 };

/** "10.5" → 10500000n for 6 decimals; throws RangeError on anything but a plain non-negative decimal. */
export function toBaseUnits(amount: string, decimals: number): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(amount.trim());
  if (!m) throw new RangeError(`not a decimal amount: ${JSON.stringify(amount)}`);
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new RangeError(`${amount} has more than ${decimals} decimals`);
  return BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
}

/** 10500000n, 6 → "10.5" (no trailing zeros). */
export function fromBaseUnits(units: bigint, decimals: number): string {
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const base = 10n ** BigInt(decimals);
  const frac = (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / base}${frac ? '.' + frac : ''}`;
}

/** A small deterministic hash (FNV-1a, 32 bit) used to spread USDT amount slots. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
