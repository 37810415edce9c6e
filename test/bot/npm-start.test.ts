/**
 * `npm start` (bin/start.ts) runs the bot when TELEGRAM_BOT_TOKEN is set: the bot shows up in the
 * table, answers a customer through the Bot API stand-in, stops with everything else on SIGTERM,
 * and the token appears in none of the output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../common/net.js';
import { fromRoot } from '../../common/paths.js';
import { TelegramApiStandIn } from '../standins/telegram-api.js';
import { testEnv } from '../support/env.js';
import { newUser, TOKEN } from './support/harness.js';

const env = testEnv(import.meta.url);

describe('npm start with TELEGRAM_BOT_TOKEN', () => {
  let tg: TelegramApiStandIn | undefined;
  after(async () => {
    await tg?.close();
  });

  test('starts the bot beside the workers, it answers /start, and SIGTERM stops it; the token is never printed', async () => {
    tg = await TelegramApiStandIn.start(TOKEN);
    const dir = path.join(process.env.X0T_DATA_DIR!, `bot-npm-start-${process.pid}`);
    fs.mkdirSync(dir, { recursive: true });
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      // The shared test server stands in for an external cluster: no embedded server is started.
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: env.namespace,
      X0T_DATA_DIR: dir,
      X0T_NODE_ID: 'bot-start-node',
      X0T_CONTROL_HTTP_PORT: String(await freePort()),
      X0T_ML_HTTP_PORT: String(await freePort()),
      X0T_NODE_HTTP_PORT: String(await freePort()),
      X0T_EBPF: 'off',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: tg.apiRoot,
    };
    delete childEnv.X0T_WORKFLOW_BUNDLE;
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('bin/start.ts')], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 150_000;
      while (!out.includes('Ctrl-C stops everything')) {
        assert.equal(child.exitCode, null, `npm start exited early:\n${out.slice(-3000)}`);
        assert.ok(Date.now() < deadline, `npm start did not come up:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(out, /^telegram bot\s+\d+\s+Temporal client\s+long polling/m);

      const u = newUser('Start');
      tg.sendText(u, '/start');
      const menu = await tg.waitForCall((c) => c.method === 'sendMessage' && Number(c.params.chat_id) === u.id, { what: 'the menu from the npm-start bot', timeoutMs: 30_000 });
      assert.match(String(menu.params.text), /self-healing mesh network/);
    } finally {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    assert.match(out, /SIGTERM/);
    assert.ok(!out.includes(TOKEN), 'the token never appears in npm start output');
    assert.ok(!out.includes(TOKEN.split(':')[1]!), 'nor its secret part');
  });
});
