import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import { fromRoot } from '../../common/paths.js';
import { testEnv } from '../support/env.js';
import { testClient } from '../support/workers.js';

const env = testEnv(import.meta.url);
let client: Client;
let connection: Connection;
before(async () => ({ client, connection } = await testClient(env)));
after(async () => connection?.close());

/** What `npm run temporal -- <args>` runs. */
function temporalCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', fromRoot('bin/temporal.ts'), ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('npm run temporal -- workflow list/describe reach the configured server and namespace', async () => {
  const workflowId = `cli-visible-${Date.now()}`;
  // No worker polls this queue: the workflow simply waits, visible to operators.
  await client.workflow.start('hostSurvey', { workflowId, taskQueue: 'x0t-cli-test-nobody', args: [{ nodeId: 'nobody' }] });
  const describe = temporalCli(['workflow', 'describe', '--workflow-id', workflowId, '--output', 'json']);
  assert.equal(describe.status, 0, describe.stderr);
  assert.equal(JSON.parse(describe.stdout).workflowExecutionInfo.type.name, 'hostSurvey');

  let listed = '';
  for (let i = 0; i < 50 && !listed.includes(workflowId); i++) {
    const list = temporalCli(['workflow', 'list', '--query', `WorkflowId="${workflowId}"`]);
    assert.equal(list.status, 0, list.stderr);
    listed = list.stdout;
    if (!listed.includes(workflowId)) await new Promise((r) => setTimeout(r, 200)); // visibility is eventually consistent
  }
  assert.match(listed, new RegExp(`Running\\s+${workflowId}\\s+hostSurvey`));
  await client.workflow.getHandle(workflowId).terminate('test done');
});

test('the CLI exit code is passed through', () => {
  const r = temporalCli(['workflow', 'describe', '--workflow-id', 'no-such-workflow']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /not found/i);
});
