/**
 * A local stand-in of the Telegram Bot API for tests: an HTTP server on loopback that answers
 * `POST /bot<token>/<method>` the way api.telegram.org does (the real method names, `{ok, result}`
 * envelopes, `{ok:false, error_code, description, parameters}` errors incl. 429 with
 * `retry_after`, update JSON), selected in grammY with `client.apiRoot`.
 *
 * It keeps the chats the bot writes to, so a test can act as a Telegram user: send a text or a
 * command, press an inline button of a message the bot sent, and wait for what the bot does.
 * Updates are delivered by long polling (`getUpdates`, with offsets and timeouts) or, once
 * `setWebhook` was called, POSTed to the webhook with its secret token header.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TgUser {
  id: number;
  is_bot: false;
  first_name: string;
  username?: string;
  language_code?: string;
}

export interface TgMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: 'private'; first_name?: string };
  from?: TgUser | { id: number; is_bot: true; first_name: string; username: string };
  text?: string;
  caption?: string;
  photo?: Array<{ file_id: string; file_unique_id: string; width: number; height: number; file_size: number }>;
  entities?: Array<{ type: string; offset: number; length: number }>;
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string; url?: string }>> };
  [k: string]: unknown;
}

/** One API call the bot made, with its parsed parameters and uploaded files. */
export interface ApiCall {
  method: string;
  params: Record<string, unknown>;
  files: Record<string, { filename: string; data: Buffer }>;
  /** The `result` answered (undefined when an error was answered). */
  result?: unknown;
  error?: ApiError;
  seq: number;
}

/** An error as the Bot API answers it. */
export interface ApiError {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

type Update = { update_id: number; [k: string]: unknown };

const BOT_USER = { id: 7000000001, is_bot: true as const, first_name: 'x0tta6bl4 test bot', username: 'x0t_test_bot' };

/** Fields that Telegram accepts as JSON-serialised strings in form and multipart bodies. */
const JSON_FIELDS = new Set(['reply_markup', 'entities', 'caption_entities', 'allowed_updates', 'link_preview_options', 'reply_parameters', 'commands', 'scope', 'media']);

export class TelegramApiStandIn {
  readonly token: string;
  readonly calls: ApiCall[] = [];
  /** Every message in every chat, the bot's and the simulated users'. */
  readonly messages = new Map<number, TgMessage[]>();
  private server!: http.Server;
  private port = 0;
  private nextUpdateId = 1000;
  private queue: Update[] = [];
  private confirmedOffset = 0;
  private pendingPoll?: { finish: (err?: ApiError) => void };
  private failures: Array<{ method: string; error: ApiError; times: number }> = [];
  private nextMessageId = new Map<number, number>();
  private callbackAnswers = new Map<string, 'open' | 'answered'>();
  private webhook?: { url: string; secretToken?: string };
  private seq = 0;
  private waiters = new Set<() => void>();
  private nextCallbackId = 1;
  /** Webhook deliveries: the HTTP status the bot's webhook answered for each update. */
  readonly webhookResponses: Array<{ updateId: number; status: number }> = [];

  private constructor(token: string) {
    this.token = token;
  }

  /** Starts the stand-in on 127.0.0.1 at a free port; answers only requests carrying `token`. */
  static async start(token: string): Promise<TelegramApiStandIn> {
    const s = new TelegramApiStandIn(token);
    s.server = http.createServer((req, res) => void s.handle(req, res));
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  /** What to pass to grammY as `client.apiRoot`. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.pendingPoll?.finish();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The next `times` calls of `method` fail with `error` (e.g. a 429 with retry_after). */
  failNext(method: string, error: ApiError, times = 1): void {
    this.failures.push({ method, error, times });
  }

  // ---- acting as Telegram users -------------------------------------------------------------

  /** Queues (or webhooks) a raw update; `update_id` is assigned when missing. */
  pushUpdate(update: Record<string, unknown>): Update {
    const u = { ...update, update_id: typeof update.update_id === 'number' ? update.update_id : this.nextUpdateId++ } as Update;
    const chatId = (update.message as { chat?: { id?: unknown } } | undefined)?.chat?.id;
    if (typeof chatId === 'number') this.chat(chatId);
    if (this.webhook) void this.deliverWebhook(u);
    else {
      this.queue.push(u);
      this.pendingPoll?.finish();
    }
    return u;
  }

  /** The user writes `text` in their private chat with the bot (commands get an entity). */
  sendText(user: TgUser, text: string): TgMessage {
    const message: TgMessage = {
      message_id: this.allocMessageId(user.id),
      date: Math.floor(Date.now() / 1000),
      chat: { id: user.id, type: 'private', first_name: user.first_name },
      from: user,
      text,
    };
    const cmd = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
    if (cmd) message.entities = [{ type: 'bot_command', offset: 0, length: cmd[0].length }];
    this.chat(user.id).push(message);
    this.pushUpdate({ message });
    return message;
  }

  /**
   * The user presses the inline button whose callback_data matches `data` (a string or a test)
   * on `message` (as the chat holds it now, or as it was: stale buttons are pressed this way).
   * Returns the callback query id; the button must exist on the given message.
   */
  press(user: TgUser, message: TgMessage, data: string | RegExp): string {
    const buttons = (message.reply_markup?.inline_keyboard ?? []).flat();
    const button = buttons.find((b) => b.callback_data !== undefined && (typeof data === 'string' ? b.callback_data === data : data.test(b.callback_data)));
    if (!button) throw new Error(`no button ${String(data)} on message ${message.message_id}: ${JSON.stringify(buttons)}`);
    return this.pressData(user, message, button.callback_data!);
  }

  /** Sends a callback query with arbitrary data (e.g. forged or from an old bot version). */
  pressData(user: TgUser, message: TgMessage, data: string): string {
    const id = String(this.nextCallbackId++);
    this.callbackAnswers.set(id, 'open');
    this.pushUpdate({ callback_query: { id, from: user, message: this.current(message.chat.id, message.message_id) ?? structuredClone(message), chat_instance: `ci-${user.id}`, data } });
    return id;
  }

  /** A snapshot of the message as the chat holds it now (after the bot's edits). Snapshots keep their buttons: press them later to act on a stale message. */
  current(chatId: number, messageId: number): TgMessage | undefined {
    const m = this.find(chatId, messageId);
    return m && structuredClone(m);
  }

  /** Snapshots of the bot's messages in a chat, oldest first. */
  botMessages(chatId: number): TgMessage[] {
    return structuredClone(this.chat(chatId).filter((m) => m.from?.is_bot));
  }

  private find(chatId: number, messageId: number): TgMessage | undefined {
    return this.chat(chatId).find((m) => m.message_id === messageId);
  }

  /** The answer given to a callback query, once answered. */
  callbackAnswer(callbackQueryId: string): ApiCall | undefined {
    return this.calls.find((c) => c.method === 'answerCallbackQuery' && c.params.callback_query_id === callbackQueryId && c.result === true);
  }

  /** Resolves with the first call (made after `sinceSeq`) that satisfies `pred`; rejects after `timeoutMs`. */
  async waitForCall(pred: (c: ApiCall) => boolean, opts: { sinceSeq?: number; timeoutMs?: number; what?: string } = {}): Promise<ApiCall> {
    const since = opts.sinceSeq ?? 0;
    return this.waitUntil(() => this.calls.find((c) => c.seq > since && pred(c)), opts.timeoutMs ?? 20_000, opts.what ?? 'an API call');
  }

  /** Resolves with the first truthy value of `probe`, re-evaluated after every API call; rejects after `timeoutMs`. */
  async waitUntil<T>(probe: () => T | undefined | false | null, timeoutMs: number, what: string): Promise<T> {
    const first = probe();
    if (first) return first;
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last calls: ${this.calls.slice(-6).map((c) => `${c.method}${c.error ? `(${c.error.error_code})` : ''}`).join(', ')}`));
      }, timeoutMs);
      // Polling as well as call-driven checks: probes may depend on state outside the stand-in.
      const interval = setInterval(check, 250);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(interval);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** A sequence number that `waitForCall({sinceSeq})` counts from: "calls made after now". */
  get lastSeq(): number {
    return this.seq;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private chat(chatId: number): TgMessage[] {
    let list = this.messages.get(chatId);
    if (!list) this.messages.set(chatId, (list = []));
    return list;
  }

  private allocMessageId(chatId: number): number {
    const id = this.nextMessageId.get(chatId) ?? 1;
    this.nextMessageId.set(chatId, id + 1);
    return id;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.apiRoot);
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    const reply = (status: number, body: unknown) => {
      const json = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    if (!m) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.token) return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    let params: Record<string, unknown>;
    let files: ApiCall['files'] = {};
    try {
      const body = await readBody(req);
      ({ params, files } = parseParams(req.headers['content-type'] ?? '', body, url.searchParams));
    } catch (err) {
      return reply(400, { ok: false, error_code: 400, description: `Bad Request: ${(err as Error).message}` });
    }
    const call: ApiCall = { method, params, files, seq: 0 };
    const failure = this.failures.find((f) => f.method === method && f.times > 0);
    let status = 200;
    let answer: unknown;
    if (failure) {
      failure.times--;
      call.error = failure.error;
    } else {
      try {
        // A snapshot: later edits of the message do not change what this call returned.
        call.result = structuredClone(await this.execute(method, params, files));
      } catch (err) {
        call.error = err instanceof StandInError ? err.apiError : { error_code: 500, description: `Internal Server Error: ${(err as Error).message}` };
      }
    }
    if (call.error) {
      status = call.error.error_code;
      answer = { ok: false, ...call.error };
    } else answer = { ok: true, result: call.result };
    if (method !== 'getUpdates' || call.error) {
      call.seq = ++this.seq;
      this.calls.push(call);
    }
    reply(status, answer);
    for (const w of [...this.waiters]) w();
  }

  private async execute(method: string, p: Record<string, unknown>, files: ApiCall['files']): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return { ...BOT_USER, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
      case 'getUpdates':
        return this.getUpdates(p);
      case 'setWebhook': {
        const url = str(p, 'url');
        if (url === '') {
          this.webhook = undefined;
          return true;
        }
        if (!/^https?:\/\//.test(url)) throw bad('bad webhook: An HTTPS URL must be provided for webhook');
        const secret = p.secret_token === undefined ? undefined : String(p.secret_token);
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) throw bad('secret token contains unallowed characters');
        this.webhook = { url, secretToken: secret };
        this.pendingPoll?.finish({ error_code: 409, description: 'Conflict: terminated by setWebhook request' });
        for (const u of this.queue.splice(0)) void this.deliverWebhook(u);
        return true;
      }
      case 'deleteWebhook':
        this.webhook = undefined;
        if (p.drop_pending_updates === true || p.drop_pending_updates === 'true') this.queue = [];
        return true;
      case 'getWebhookInfo':
        return { url: this.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: this.queue.length };
      case 'setMyCommands':
      case 'deleteMyCommands':
        return true;
      case 'sendMessage':
      case 'sendPhoto':
        return this.send(method, p, files);
      case 'editMessageText':
      case 'editMessageCaption':
      case 'editMessageReplyMarkup':
        return this.edit(method, p);
      case 'deleteMessage': {
        const list = this.chat(int(p, 'chat_id'));
        const i = list.findIndex((msg) => msg.message_id === int(p, 'message_id'));
        if (i < 0) throw bad('message to delete not found');
        list.splice(i, 1);
        return true;
      }
      case 'answerCallbackQuery': {
        const id = str(p, 'callback_query_id');
        if (this.callbackAnswers.get(id) !== 'open') throw bad('query is too old and response timeout expired or query ID is invalid');
        if (p.text !== undefined && String(p.text).length > 200) throw bad('MESSAGE_TOO_LONG');
        this.callbackAnswers.set(id, 'answered');
        return true;
      }
      case 'sendChatAction':
        return true;
      default:
        throw new StandInError({ error_code: 404, description: 'Not Found' });
    }
  }

  private async getUpdates(p: Record<string, unknown>): Promise<Update[]> {
    if (this.webhook) throw new StandInError({ error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    const offset = p.offset === undefined ? 0 : int(p, 'offset');
    const limit = Math.min(100, Math.max(1, p.limit === undefined ? 100 : int(p, 'limit')));
    const timeout = Math.min(50, Math.max(0, p.timeout === undefined ? 0 : int(p, 'timeout')));
    if (offset > this.confirmedOffset) {
      this.confirmedOffset = offset;
      this.queue = this.queue.filter((u) => u.update_id >= offset);
    }
    // A newer getUpdates terminates the one still waiting, as Telegram does.
    this.pendingPoll?.finish({ error_code: 409, description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running' });
    if (this.queue.length === 0 && timeout > 0) {
      const err = await new Promise<ApiError | undefined>((resolve) => {
        const timer = setTimeout(() => finish(), timeout * 1000);
        const finish = (e?: ApiError) => {
          clearTimeout(timer);
          if (this.pendingPoll === poll) this.pendingPoll = undefined;
          resolve(e);
        };
        const poll = { finish };
        this.pendingPoll = poll;
      });
      if (err) throw new StandInError(err);
    }
    return this.queue.slice(0, limit);
  }

  private send(method: string, p: Record<string, unknown>, files: ApiCall['files']): TgMessage {
    const chatId = int(p, 'chat_id');
    // Telegram knows only chats the bot is in: here, chats some update came from.
    if (!this.messages.has(chatId)) {
      if (chatId > 0) throw new StandInError({ error_code: 403, description: "Forbidden: bot can't initiate conversation with a user" });
      throw bad('chat not found');
    }
    const message: TgMessage = {
      message_id: this.allocMessageId(chatId),
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private' },
      from: BOT_USER,
    };
    if (method === 'sendMessage') {
      const text = str(p, 'text');
      if (text.trim() === '') throw bad('message text is empty');
      if (text.length > 4096) throw bad('message is too long');
      message.text = p.parse_mode === 'HTML' ? checkHtml(text) : text;
    } else {
      const photo = str(p, 'photo');
      const attach = /^attach:\/\/(.+)$/.exec(photo);
      const file = attach ? files[attach[1]!] : undefined;
      if (!file && !/^[A-Za-z0-9_-]{20,}$/.test(photo)) throw bad('wrong remote file identifier specified: Wrong string length');
      if (file && file.data.length === 0) throw bad('file must be non-empty');
      const caption = p.caption === undefined ? undefined : String(p.caption);
      if (caption !== undefined && caption.length > 1024) throw bad('message caption is too long');
      if (caption !== undefined) message.caption = p.parse_mode === 'HTML' ? checkHtml(caption) : caption;
      message.photo = [{ file_id: `AgAC${'x'.repeat(24)}${message.message_id}`, file_unique_id: `u${message.message_id}`, width: 320, height: 320, file_size: file?.data.length ?? 0 }];
    }
    if (p.reply_markup !== undefined) message.reply_markup = checkMarkup(p.reply_markup);
    this.chat(chatId).push(message);
    return message;
  }

  private edit(method: string, p: Record<string, unknown>): TgMessage {
    const message = this.find(int(p, 'chat_id'), int(p, 'message_id'));
    if (!message) throw bad('message to edit not found');
    const markup = p.reply_markup === undefined ? undefined : checkMarkup(p.reply_markup);
    const sameMarkup = JSON.stringify(markup ?? null) === JSON.stringify(message.reply_markup ?? null);
    if (method === 'editMessageText') {
      if (message.text === undefined) throw bad('there is no text in the message to edit');
      const text = p.parse_mode === 'HTML' ? checkHtml(str(p, 'text')) : str(p, 'text');
      if (text === message.text && sameMarkup) throw notModified();
      message.text = text;
    } else if (method === 'editMessageCaption') {
      if (message.photo === undefined) throw bad('there is no caption in the message to edit');
      const caption = p.parse_mode === 'HTML' ? checkHtml(String(p.caption ?? '')) : String(p.caption ?? '');
      if (caption === message.caption && sameMarkup) throw notModified();
      message.caption = caption;
    } else if (sameMarkup) throw notModified();
    if (markup) message.reply_markup = markup;
    else delete message.reply_markup;
    return message;
  }

  private async deliverWebhook(u: Update): Promise<void> {
    const hook = this.webhook!;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (hook.secretToken) headers['x-telegram-bot-api-secret-token'] = hook.secretToken;
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(u), signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      this.webhookResponses.push({ updateId: u.update_id, status: res.status });
    } catch {
      this.webhookResponses.push({ updateId: u.update_id, status: 0 });
    }
    for (const w of [...this.waiters]) w();
  }
}

class StandInError extends Error {
  constructor(readonly apiError: ApiError) {
    super(apiError.description);
  }
}

const bad = (what: string) => new StandInError({ error_code: 400, description: `Bad Request: ${what}` });
const notModified = () =>
  bad('message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (v === undefined || v === null) throw bad(`${key} is empty`);
  return String(v);
}

function int(p: Record<string, unknown>, key: string): number {
  const v = Number(p[key]);
  if (!Number.isSafeInteger(v)) throw bad(`invalid ${key} specified`);
  return v;
}

/** Telegram refuses HTML it cannot parse; unknown tags and bare '<' or '&' are the usual causes. */
function checkHtml(text: string): string {
  const allowed = /^(b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler|span|blockquote|tg-emoji)$/;
  const stack: string[] = [];
  const tagRe = /<(\/?)([a-z-]+)([^>]*)>|<|&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(text))) {
    if (!m[2]) throw bad(`can't parse entities: unsupported start tag or unescaped character at byte offset ${m.index}`);
    if (!allowed.test(m[2])) throw bad(`can't parse entities: Unsupported start tag "${m[2]}" at byte offset ${m.index}`);
    if (m[1]) {
      if (stack.pop() !== m[2]) throw bad(`can't parse entities: Unmatched end tag at byte offset ${m.index}`);
    } else stack.push(m[2]);
  }
  if (stack.length) throw bad(`can't parse entities: Can't find end tag corresponding to start tag "${stack.at(-1)}"`);
  return text.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

function checkMarkup(v: unknown): TgMessage['reply_markup'] {
  const markup = v as TgMessage['reply_markup'];
  if (!markup || !Array.isArray(markup.inline_keyboard)) throw bad("can't parse reply keyboard markup JSON object");
  for (const row of markup.inline_keyboard) {
    for (const b of row) {
      if (typeof b.text !== 'string' || b.text === '') throw bad('text buttons are unallowed in the inline keyboard');
      if (b.callback_data !== undefined && Buffer.byteLength(b.callback_data) > 64) throw bad('BUTTON_DATA_INVALID');
      if (b.url !== undefined && !/^(https?|tg):\/\//.test(b.url)) throw bad(`inline keyboard button URL '${b.url}' is invalid: Unsupported URL protocol`);
      if (b.callback_data === undefined && b.url === undefined) throw bad("can't find field \"callback_data\"");
    }
  }
  return markup;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 50 * 1024 * 1024) throw new Error('Request Entity Too Large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function coerce(key: string, v: string): unknown {
  if (JSON_FIELDS.has(key) || v.startsWith('{') || v.startsWith('[')) {
    try {
      return JSON.parse(v);
    } catch {
      throw new Error(`can't parse ${key} JSON object`);
    }
  }
  return v;
}

function parseParams(contentType: string, body: Buffer, query: URLSearchParams): { params: Record<string, unknown>; files: ApiCall['files'] } {
  const params: Record<string, unknown> = {};
  const files: ApiCall['files'] = {};
  for (const [k, v] of query) params[k] = coerce(k, v);
  if (body.length === 0) return { params, files };
  if (contentType.startsWith('application/json')) {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('request body must be a JSON object');
    Object.assign(params, parsed);
  } else if (contentType.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params[k] = coerce(k, v);
  } else if (contentType.startsWith('multipart/form-data')) {
    const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType)?.[2];
    if (!boundary) throw new Error('multipart boundary missing');
    const delimiter = Buffer.from(`--${boundary}`);
    let pos = body.indexOf(delimiter);
    while (pos >= 0) {
      const start = pos + delimiter.length;
      if (body.subarray(start, start + 2).toString() === '--') break;
      const next = body.indexOf(delimiter, start);
      if (next < 0) throw new Error('multipart body truncated');
      const part = body.subarray(start + 2, next - 2); // strip the CRLF after the delimiter and before the next
      const headerEnd = part.indexOf('\r\n\r\n');
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const data = part.subarray(headerEnd + 4);
      const name = /;\s*name="?([^";\r\n]+)"?/i.exec(headers)?.[1];
      const filename = /filename="?([^";\r\n]+)"?/i.exec(headers)?.[1];
      if (!name) throw new Error('multipart part without a name');
      if (filename !== undefined) files[name] = { filename, data: Buffer.from(data) };
      else params[name] = coerce(name, data.toString('utf8'));
      pos = next;
    }
  } else throw new Error(`unsupported content type ${contentType}`);
  return { params, files };
}
