import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { NODE_REGISTRY_WORKFLOW_ID, nodeTaskQueue } from '../../common/task-queues.js';
import type { WorkerProcess } from '../../common/worker-process.js';
import { liveNodesQuery, type LiveNode } from '../../workflows/node-registry.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { startWorkerProcess, testClient } from '../support/workers.js';

const env = testEnv(import.meta.url);
const fast = { X0T_NODE_HEARTBEAT_MS: '500' }; // TTL = 3 heartbeats = 1.5 s

async function liveNodes(client: Client): Promise<LiveNode[]> {
  return client.workflow.getHandle(NODE_REGISTRY_WORKFLOW_ID).query(liveNodesQuery);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('node registry: node workers announce themselves and drop out when silent', () => {
  let client: Client;
  let connection: Connection;
  const workers: WorkerProcess[] = [];
  before(async () => {
    ({ client, connection } = await testClient(env));
    workers.push(await startWorkerProcess(env, 'control'));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
  });

  test('two node workers appear with their task queues; a SIGKILLed one is dropped after the TTL, a stopped one at once', async () => {
    const a = await startWorkerProcess(env, 'node', { nodeId: 'reg-a', extraEnv: fast });
    const b = await startWorkerProcess(env, 'node', { nodeId: 'reg-b', extraEnv: fast });
    workers.push(a, b);
    await waitFor('both nodes are live', async () => (await liveNodes(client)).length === 2);
    const nodes = await liveNodes(client);
    assert.deepEqual(nodes.map((n) => [n.nodeId, n.taskQueue]), [['reg-a', nodeTaskQueue('reg-a')], ['reg-b', nodeTaskQueue('reg-b')]]);

    a.child.kill('SIGKILL');
    await waitFor('the killed node is dropped', async () => (await liveNodes(client)).every((n) => n.nodeId !== 'reg-a'));
    assert.deepEqual((await liveNodes(client)).map((n) => n.nodeId), ['reg-b']);

    await b.stop();
    await waitFor('the stopped node said goodbye', async () => (await liveNodes(client)).length === 0, 5000);
    await recordHistoryIfAsked(env, client.workflow.getHandle(NODE_REGISTRY_WORKFLOW_ID), 'nodeRegistry');
  });
});
