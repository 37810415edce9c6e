import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import type { WorkerProcess } from '../../common/worker-process.js';
import { hostSurvey } from '../../workflows/host-survey.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { startWorkerProcess, testClient } from '../support/workers.js';

const env = testEnv(import.meta.url);
const nodeId = 'survey-n1';
const EventType = proto.temporal.api.enums.v1.EventType;

describe('hostSurvey: control → node queue → ml queue, with a node worker killed mid-activity', () => {
  let client: Client;
  let connection: Connection;
  const workers: WorkerProcess[] = [];

  before(async () => {
    ({ client, connection } = await testClient(env));
    workers.push(...(await Promise.all([startWorkerProcess(env, 'control'), startWorkerProcess(env, 'ml')])));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
  });

  test('the workflow completes after SIGKILL of the node worker and records the snapshot exactly once', async () => {
    workers.push(await startWorkerProcess(env, 'node', { nodeId }));
    const handle = await client.workflow.start(hostSurvey, {
      workflowId: `survey-kill-${Date.now()}`,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ nodeId, sampleMs: 4000 }],
    });

    // Wait until the node is inside the activity (it has heartbeated), then kill it outright.
    for (let i = 0; ; i++) {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      if (pending.some((a) => a.activityType?.name === 'collectHostSnapshot' && a.lastHeartbeatTime)) break;
      assert.ok(i < 300, 'the node worker never started the activity');
      await new Promise((r) => setTimeout(r, 100));
    }
    const victim = workers.pop()!;
    victim.child.kill('SIGKILL');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    workers.push(await startWorkerProcess(env, 'node', { nodeId }));

    const result = await handle.result();
    assert.equal(result.snapshot.snapshot.nodeId, nodeId);
    assert.equal(result.snapshot.recorded, 'new');
    assert.ok(result.snapshot.snapshot.intervalMs >= 3900, `sampled over ${result.snapshot.snapshot.intervalMs} ms`);
    assert.ok(result.snapshot.snapshot.interfaces.some((i) => i.name === 'lo'), 'loopback is among the interfaces');
    assert.ok(['healthy', 'degraded', 'critical'].includes(result.assessment.health));

    // The activity ran twice (the killed attempt and the retry) but its effect exists once.
    const history = await handle.fetchHistory();
    const started = history.events!.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    const snapshotStart = started.find((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2);
    assert.ok(snapshotStart, 'the snapshot activity was retried after the kill');
    const journal = path.join(process.env.X0T_DATA_DIR!, 'nodes', nodeId, 'snapshots');
    const records = fs.readdirSync(journal).filter((f) => f.startsWith(encodeURIComponent(handle.workflowId)));
    assert.equal(records.length, 1, `one journal entry for the workflow, found ${records.join(', ')}`);
    await recordHistoryIfAsked(env, handle, 'hostSurvey');
  });

  test('a survey of a node whose worker exists but was given a bad sample length fails at once as InvalidInput', async () => {
    const err = await client.workflow
      .execute(hostSurvey, { workflowId: `survey-bad-${Date.now()}`, taskQueue: CONTROL_TASK_QUEUE, args: [{ nodeId, sampleMs: -5 }] })
      .then(() => undefined, (e: Error) => e);
    assert.ok(err, 'the workflow must fail');
    assert.match(String((err as { cause?: { cause?: Error } }).cause?.cause?.message), /sampleMs must be/);
  });
});
