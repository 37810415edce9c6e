/**
 * The one thing the bot remembers itself: each user's chosen language. Not payment state; one
 * small JSON file per user under <dataDir>/bot/locales/, written atomically, cached in memory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isLocale, type Locale } from './i18n.js';

export interface LocalePrefs {
  get(userId: number): Promise<Locale | undefined>;
  set(userId: number, locale: Locale): Promise<void>;
}

export class FileLocalePrefs implements LocalePrefs {
  private readonly cache = new Map<number, Locale | null>();
  constructor(private readonly dir: string) {}

  private file(userId: number): string {
    if (!Number.isSafeInteger(userId)) throw new TypeError('user id must be an integer');
    return path.join(this.dir, `${userId}.json`);
  }

  async get(userId: number): Promise<Locale | undefined> {
    const cached = this.cache.get(userId);
    if (cached !== undefined) return cached ?? undefined;
    let locale: Locale | undefined;
    try {
      const parsed = JSON.parse(await fs.readFile(this.file(userId), 'utf8')) as { locale?: unknown };
      if (isLocale(parsed.locale)) locale = parsed.locale;
    } catch {
      // no preference (or an unreadable one): fall back to the Telegram language
    }
    this.cache.set(userId, locale ?? null);
    return locale;
  }

  async set(userId: number, locale: Locale): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const file = this.file(userId);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify({ locale }));
    await fs.rename(tmp, file);
    this.cache.set(userId, locale);
  }
}
