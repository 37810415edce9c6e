import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { devServerArgs, loadDevServerSpec } from '../../common/dev-server-spec.js';
import { freePort } from '../../common/net.js';
import { fromRoot } from '../../common/paths.js';
import { redact } from '../../common/logger.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-config-'));
const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TEMPORAL_') || k.startsWith('X0T_')) delete env[k];
  return env;
};

/** Runs a project entry point and returns its exit code and stderr. */
function run(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', fromRoot(script), ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, stderr: res.stderr };
}

describe('configuration is validated at start with messages that say what to do', () => {
  test('an unknown role is refused with the list of roles', () => {
    const r = run('workers/main.ts', ['--role', 'wizard'], cleanEnv());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown role "wizard": expected one of control, node, ml/);
  });

  test('a malformed TEMPORAL_ADDRESS is refused before any connection', () => {
    const r = run('workers/main.ts', ['--role', 'ml'], { ...cleanEnv(), TEMPORAL_ADDRESS: 'not an address' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TEMPORAL_ADDRESS=not an address is not host:port/);
  });

  test('a missing mTLS certificate file is named', () => {
    const r = run('workers/main.ts', ['--role', 'ml'], { ...cleanEnv(), TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: '/nope/client.pem', TEMPORAL_TLS_CLIENT_KEY_PATH: '/nope/client.key' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TEMPORAL_TLS_CLIENT_CERT_PATH=\/nope\/client.pem: no such file/);
  });

  test('an unreachable Temporal server is reported with how to start one', async () => {
    const port = await freePort();
    const r = run('workers/main.ts', ['--role', 'ml', '--http-port', '0'], { ...cleanEnv(), TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`cannot reach Temporal at 127.0.0.1:${port}`));
  });

  test('a dev server port already in use stops npm start with a clear message', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const spec = { ...loadDevServerSpec(), port, ui: { enabled: false, port: 0 }, dbFilename: path.join(tmp, 'x.sqlite') };
      const specFile = path.join(tmp, 'busy.yaml');
      fs.writeFileSync(specFile, stringify(spec));
      const r = run('bin/start.ts', [], { ...cleanEnv(), X0T_DEV_SERVER_SPEC: specFile });
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`port 127.0.0.1:${port} is in use`));
    } finally {
      blocker.close();
    }
  });

  test('a dev server that stops while starting (its SQLite file cannot be opened) is reported with what it said', async () => {
    const dirAsDb = path.join(tmp, 'a-directory.sqlite');
    fs.mkdirSync(dirAsDb, { recursive: true });
    const spec = { ...loadDevServerSpec(), port: await freePort(), ui: { enabled: false, port: 0 }, metricsPort: 0, dbFilename: dirAsDb };
    const specFile = path.join(tmp, 'unopenable.yaml');
    fs.writeFileSync(specFile, stringify(spec));
    const r = run('bin/start.ts', [], { ...cleanEnv(), X0T_DEV_SERVER_SPEC: specFile });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /temporal dev server exited early/);
    assert.match(r.stderr, /unable to open database file/, 'the server\'s own words are in the error');
  });

  test('a temporal CLI path that does not exist is refused with what to do', () => {
    const r = run('bin/temporal.ts', ['--version'], { ...cleanEnv(), TEMPORAL_CLI_PATH: '/nope/temporal' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TEMPORAL_CLI_PATH=\/nope\/temporal is not an executable file/);
  });

  test('an invalid temporal-dev.yaml names the field', () => {
    const specFile = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(specFile, 'port: seventy\nsearchAttributes: { Foo: Banana }\n');
    assert.throws(() => loadDevServerSpec(specFile), /port: .*\n.*searchAttributes\.Foo/s);
  });
});

describe('temporal-dev.yaml becomes start-dev flags', () => {
  test('namespace, SQLite file and pragmas, search attributes and dynamic config are all passed', () => {
    const args = devServerArgs(loadDevServerSpec(fromRoot('temporal-dev.yaml'))).join(' ');
    assert.match(args, /--ip 127\.0\.0\.1 --port 7233 --namespace default --ui-port 8233/);
    assert.match(args, new RegExp(`--db-filename ${fromRoot('.data/temporal.sqlite')} --sqlite-pragma journal_mode=WAL`));
    assert.match(args, /--search-attribute InvoiceStatus=Keyword/);
    assert.match(args, /--dynamic-config-value frontend\.enableUpdateWorkflowExecution=true/);
  });
});

describe('secrets stay out of logs', () => {
  test('secret-looking keys are redacted at any depth', () => {
    const out = JSON.stringify(redact({ botToken: '123:ABC', nested: { apiKey: 'k', TRON_PRO_API_KEY: 'x', ok: 1 }, list: [{ password: 'p' }] }));
    assert.ok(!/123:ABC|"k"|"x"|"p"/.test(out), out);
    assert.match(out, /"ok":1/);
  });
});
