import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { privateDevServerSpec } from '../../common/dev-server-spec.js';
import { freePort } from '../../common/net.js';
import { fromRoot } from '../../common/paths.js';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import { hostSurvey } from '../../workflows/host-survey.js';

/** `npm start` runs `node --import tsx bin/start.ts`; so does this test, on private ports. */
async function privateStartEnv(dir: string) {
  const spec = await privateDevServerSpec(dir, { ui: { enabled: true, port: await freePort() }, metricsPort: await freePort() });
  const specFile = path.join(dir, 'temporal-dev.yaml');
  fs.writeFileSync(specFile, stringify(spec));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    X0T_DEV_SERVER_SPEC: specFile,
    X0T_DATA_DIR: path.join(dir, 'data'),
    X0T_NODE_ID: 'start-node',
    X0T_CONTROL_HTTP_PORT: String(await freePort()),
    X0T_ML_HTTP_PORT: String(await freePort()),
    X0T_NODE_HTTP_PORT: String(await freePort()),
    X0T_EBPF: 'off',
  };
  for (const k of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'X0T_TEST_TEMPORAL_ADDRESS', 'X0T_WORKFLOW_BUNDLE']) delete env[k];
  return { env, address: `${spec.ip}:${spec.port}`, uiPort: spec.ui.port };
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  pids: number[];
}

async function start(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('bin/start.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${err.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${err.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The table lists every process it started with its pid.
  const pids = [...out.matchAll(/^(?:temporal dev server|control worker|ml worker|node worker)\s+(\d+)/gm)].map((m) => Number(m[1]));
  return { child, stdout: () => out, pids };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopWith(s: Started, signal: NodeJS.Signals) {
  const exited = new Promise<number | null>((r) => s.child.once('exit', (code) => r(code)));
  s.child.kill(signal);
  return exited;
}

describe('npm start: the whole control plane on one machine', () => {
  const dir = fs.mkdtempSync(path.join(process.env.X0T_TEST_WORK_DIR ?? '/tmp', 'npm-start-'));
  const running: Started[] = [];
  after(() => {
    for (const s of running) for (const pid of [s.child.pid!, ...s.pids]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('prints the UI and a table, stops cleanly on SIGTERM, and a second start resumes a workflow from the SQLite file', async () => {
    const { env, address, uiPort } = await privateStartEnv(dir);
    const first = await start(env);
    running.push(first);
    assert.match(first.stdout(), new RegExp(`Temporal UI: http://localhost:${uiPort}/`));
    assert.equal(first.pids.length, 4, `table lists server + 3 workers:\n${first.stdout()}`);
    assert.ok(first.pids.every(alive));

    // Every worker answers its probes and serves prom-client + Temporal SDK metrics.
    for (const role of ['CONTROL', 'ML', 'NODE']) {
      const base = `http://127.0.0.1:${env[`X0T_${role}_HTTP_PORT`]}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^x0t_worker_up\{role="\w+",task_queue="x0t-[\w-]+"\} 1$/m);
      assert.match(metrics, /^temporal_\w+/m, 'the SDK runtime metrics are served too');
    }

    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const workflowId = `survives-restart-${Date.now()}`;
    const handle = await client.workflow.start(hostSurvey, { workflowId, taskQueue: CONTROL_TASK_QUEUE, args: [{ nodeId: 'start-node', sampleMs: 8000 }] });
    await new Promise((r) => setTimeout(r, 1500)); // the node is mid-sample now
    await connection.close();

    assert.equal(await stopWith(first, 'SIGTERM'), 0);
    for (const pid of first.pids) assert.ok(!alive(pid), `pid ${pid} outlived npm start`);

    const second = await start(env);
    running.push(second);
    const conn2 = await Connection.connect({ address });
    try {
      const again = new Client({ connection: conn2 }).workflow.getHandle<typeof hostSurvey>(handle.workflowId);
      const result = await again.result();
      assert.equal(result.snapshot.snapshot.nodeId, 'start-node');
    } finally {
      await conn2.close();
    }
    assert.equal(await stopWith(second, 'SIGINT'), 0);
    for (const pid of second.pids) assert.ok(!alive(pid), `pid ${pid} outlived npm start`);
  });
});
