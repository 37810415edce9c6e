/**
 * The tariff file (config/tariffs.yaml): tiers, prices, merchant addresses, payment policy and
 * provider endpoints, validated with zod. Re-read when the file changes, so an operator can edit
 * prices without restarting; a broken file is refused with a message saying what is wrong.
 */
import fs from 'node:fs';
import { Address } from '@ton/core';
import { TronWeb } from 'tronweb';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../../common/errors.js';
import { fromRoot } from '../../../common/paths.js';
import { DECIMALS, toBaseUnits } from '../../../workflows/payments/amounts.js';

const decimalString = (decimals: number) =>
  z.string().refine((s) => {
    try {
      toBaseUnits(s, decimals);
      return true;
    } catch {
      return false;
    }
  }, `a decimal amount with at most ${decimals} decimals, as a string`);

const tronAddress = z.string().refine((s) => s === '' || TronWeb.isAddress(s), 'a TRON base58 address (T...)');
const tonAddress = z.string().refine((s) => {
  if (s === '') return true;
  try {
    Address.parse(s);
    return true;
  } catch {
    return false;
  }
}, 'a TON address (EQ.../UQ... or 0:hex)');
const url = z.string().url();

export const tariffsSchema = z.object({
  tiers: z
    .array(
      z.object({
        id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
        title: z.string().min(1),
        days: z.number().positive(), // fractional days allowed (tests use seconds-long tiers)
        price: z.object({ USDT_TRC20: decimalString(DECIMALS.USDT_TRC20), TON: decimalString(DECIMALS.TON) }),
      }),
    )
    .min(1)
    .refine((t) => new Set(t.map((x) => x.id)).size === t.length, 'tier ids must be unique'),
  merchants: z.object({
    USDT_TRC20: z.object({ address: tronAddress, usdtContract: tronAddress.refine((s) => s !== '', 'required') }),
    TON: z.object({ address: tonAddress }),
  }),
  policy: z.object({
    invoiceTtlSeconds: z.number().int().min(1),
    lateWindowSeconds: z.number().int().min(0),
    acceptLate: z.boolean(),
    tolerance: z.object({ USDT_TRC20: decimalString(DECIMALS.USDT_TRC20), TON: decimalString(DECIMALS.TON) }),
    uniqueAmountSlots: z.number().int().min(2).max(1_000_000),
    poll: z.object({
      initialSeconds: z.number().positive(),
      maxSeconds: z.number().positive(),
      backoffCoefficient: z.number().min(1),
      verifyingSeconds: z.number().positive(),
      // Each wait is drawn from [1 − jitter, 1 + jitter] × the interval, so invoices opened together do not poll together.
      jitter: z.number().min(0).max(0.9).default(0),
    }),
    // The chain watcher (one per merchant address): scans new transfers every intervalSeconds and
    // tells the invoice a transfer may pay to check now. 0 = off (invoices rely on their polls).
    watch: z
      .object({
        intervalSeconds: z.number().min(0),
        // Its first scan reads transfers this far back (a watcher started after a payment still sees it).
        lookbackSeconds: z.number().int().min(0),
        // One watcher activity scans this long, heartbeating, then reports to its workflow.
        runSeconds: z.number().positive().default(300),
      })
      .default({ intervalSeconds: 3, lookbackSeconds: 600, runSeconds: 300 }),
    subscription: z.object({
      reminderBeforeSeconds: z.number().int().min(0),
      trialDays: z.number().int().min(0),
      referralCreditDays: z.number().int().min(0),
    }),
  }),
  providers: z.object({
    timeoutMs: z.number().int().positive(),
    tron: z.object({ trongrid: url, tronscan: url }),
    ton: z.object({ toncenter: url, tonapi: url }),
  }),
});

export type Tariffs = z.infer<typeof tariffsSchema>;

/** The tariff file in use: X0T_TARIFFS_FILE, else config/tariffs.yaml. */
export function tariffsPath(env: NodeJS.ProcessEnv = process.env): string {
  return fromRoot(env.X0T_TARIFFS_FILE ?? 'config/tariffs.yaml');
}

/** Parses and validates tariff YAML text; X0T_MERCHANT_TRON / X0T_MERCHANT_TON override the addresses. */
export function parseTariffs(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Tariffs {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source}: not YAML: ${(err as Error).message}`);
  }
  const merchants = (raw as { merchants?: Record<string, { address?: string }> })?.merchants;
  if (merchants?.USDT_TRC20 && env.X0T_MERCHANT_TRON) merchants.USDT_TRC20.address = env.X0T_MERCHANT_TRON;
  if (merchants?.TON && env.X0T_MERCHANT_TON) merchants.TON.address = env.X0T_MERCHANT_TON;
  const parsed = tariffsSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`${source}: invalid tariffs: ${issues}`);
  }
  return parsed.data;
}

let cache: { path: string; mtimeMs: number; tariffs: Tariffs } | undefined;

/** Loads the tariff file, cached until its modification time changes. */
export function loadTariffs(file = tariffsPath()): Tariffs {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new ConfigError(`${file}: no tariff file (copy config/tariffs.yaml or set X0T_TARIFFS_FILE)`);
  }
  if (cache && cache.path === file && cache.mtimeMs === st.mtimeMs) return cache.tariffs;
  const tariffs = parseTariffs(fs.readFileSync(file, 'utf8'), file);
  cache = { path: file, mtimeMs: st.mtimeMs, tariffs };
  return tariffs;
}
