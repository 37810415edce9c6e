/**
 * Texts live in bot/locales/<locale>.ftl (Fluent, through @grammyjs/i18n); code only names keys.
 * The locale is the user's choice when they switched, else their Telegram language, else the
 * configured default. Variables are HTML-escaped here, since every message is sent as HTML.
 */
import path from 'node:path';
import { I18n, type I18nFlavor } from '@grammyjs/i18n';
import type { Context } from 'grammy';
import type { LocalePrefs } from './prefs.js';

export const LOCALES = ['en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

export const isLocale = (s: unknown): s is Locale => typeof s === 'string' && (LOCALES as readonly string[]).includes(s);

/** A Telegram language code → one of ours (Russian for ru; English for everything else). */
export function localeFromTelegram(code: string | undefined): Locale | undefined {
  if (!code) return undefined;
  const base = code.toLowerCase().split('-')[0];
  return base === 'ru' ? 'ru' : base ? 'en' : undefined;
}

export type BotI18n = I18n<Context & I18nFlavor>;

export function createI18n(opts: { defaultLocale: Locale; prefs: LocalePrefs }): BotI18n {
  const i18n = new I18n<Context & I18nFlavor>({
    defaultLocale: opts.defaultLocale,
    // Fluent's default wraps placeables in bidi isolation marks, which would end up inside
    // addresses and keys that customers copy.
    fluentBundleOptions: { useIsolating: false },
    localeNegotiator: async (ctx) => {
      const id = ctx.from?.id;
      return (id !== undefined ? await opts.prefs.get(id) : undefined) ?? localeFromTelegram(ctx.from?.language_code) ?? opts.defaultLocale;
    },
  });
  for (const locale of LOCALES) i18n.loadLocaleSync(locale, { filePath: path.join(import.meta.dirname, 'locales', `${locale}.ftl`) });
  return i18n;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes string variables for HTML; numbers pass through (Fluent's plural rules need them). */
export function htmlVars(vars: Record<string, string | number>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? escapeHtml(v) : v]));
}
