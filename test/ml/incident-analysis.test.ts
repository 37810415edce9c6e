import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError, type Client, type Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CONTROL_TASK_QUEUE } from '../../common/task-queues.js';
import type { WorkerProcess } from '../../common/worker-process.js';
import { ACTIONS } from '../../ml/remediation.js';
import { simulateIncident } from '../../ml/simulator.js';
import { incidentAnalysis } from '../../workflows/incident-analysis.js';
import { testEnv } from '../support/env.js';
import { recordHistoryIfAsked } from '../support/histories.js';
import { startWorkerProcess, testClient } from '../support/workers.js';

const env = testEnv(import.meta.url);
const EventType = proto.temporal.api.enums.v1.EventType;

describe('incidentAnalysis: analyze on x0t-ml, incident stored and served by the control process', () => {
  let client: Client;
  let connection: Connection;
  let control: WorkerProcess;
  const workers: WorkerProcess[] = [];
  const controlData = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-ml-control-'));

  before(async () => {
    ({ client, connection } = await testClient(env));
    control = await startWorkerProcess(env, 'control', { extraEnv: { X0T_DATA_DIR: controlData } });
    workers.push(control);
    // The ML worker has its own data dir: the incident reaches the control process only through the workflow.
    workers.push(await startWorkerProcess(env, 'ml', { extraEnv: { X0T_INCIDENT_BASE_URL: control.httpUrl, X0T_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-ml-ml-')) } }));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await connection?.close();
    fs.rmSync(controlData, { recursive: true, force: true });
  });

  test('an overloaded node is named the root cause, with confidence, explanation, actions, and an incident served as JSON and SVG', async () => {
    const sim = simulateIncident({ nodes: 40, scenario: 'node_overload', seed: 11, severity: 0.8 });
    const handle = await client.workflow.start(incidentAnalysis, {
      workflowId: `incident-overload-${Date.now()}`,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ snapshot: sim.history.at(-1)!, history: sim.history.slice(0, -1) }],
    });
    const r = await handle.result();
    assert.equal(r.anomalous, true);
    assert.equal(r.rootCauses[0]?.entity, sim.rootCause);
    assert.equal(r.faultClass, 'node_overload');
    assert.ok(r.confidence > 0 && r.confidence <= 1, `confidence ${r.confidence}`);
    assert.match(r.explanation, new RegExp(`${sim.rootCause} is the most likely root cause`));
    assert.ok(r.scores.nodes.some((s) => s.id === sim.rootCause && s.score > 0.5), 'GraphSAGE scores the root node as anomalous');
    assert.ok(r.suggestions.length > 0 && r.suggestions.every((s) => s.action in ACTIONS));
    assert.equal(r.suggestions[0]?.target, sim.rootCause);
    assert.ok(r.events.some((e) => e.entity === sim.rootCause));
    assert.equal(r.url, `${control.httpUrl}/incidents/${handle.workflowId}`);

    const json = await fetch(r.url);
    assert.equal(json.status, 200);
    const stored = (await json.json()) as typeof r;
    assert.equal(stored.incidentId, r.incidentId);
    assert.equal(stored.rootCauses[0]?.entity, sim.rootCause);

    const svg = await fetch(r.graphUrl);
    assert.equal(svg.status, 200);
    assert.match(svg.headers.get('content-type') ?? '', /image\/svg\+xml/);
    const body = await svg.text();
    assert.match(body, new RegExp(`<g class="entity root-cause" data-id="${sim.rootCause}">`));
    for (const e of r.graph.edges.slice(0, 3)) assert.ok(body.includes(`>${e.weight.toFixed(2)}</text>`), `edge weight ${e.weight} is drawn`);

    assert.equal((await fetch(`${control.httpUrl}/incidents/no-such-incident`)).status, 404);
    await recordHistoryIfAsked(env, handle, 'incidentAnalysis');
  });

  test('a snapshot whose link names an unknown node fails at once with a non-retryable InvalidInput that names it', async () => {
    const sim = simulateIncident({ nodes: 12, scenario: 'healthy', seed: 3 });
    const snapshot = structuredClone(sim.history.at(-1)!);
    snapshot.links.push({ a: 'n0', b: 'ghost-7', lossRatio: 0.01 });
    const handle = await client.workflow.start(incidentAnalysis, {
      workflowId: `incident-bad-${Date.now()}`,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ snapshot }],
    });
    const err = await handle.result().then(() => assert.fail('the workflow should fail'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const app = (err.cause as { cause?: unknown })?.cause;
    assert.ok(app instanceof ApplicationFailure, `cause is ${String(app)}`);
    assert.equal(app.type, 'InvalidInput');
    assert.equal(app.nonRetryable, true);
    assert.match(app.message, /unknown node id "ghost-7"/);
    const events = (await handle.fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED).length, 1, 'one attempt, no retries');
  });

  test('a healthy mesh yields no incident and stores nothing', async () => {
    const sim = simulateIncident({ nodes: 30, scenario: 'healthy', seed: 5, distractorRate: 0 });
    const handle = await client.workflow.start(incidentAnalysis, {
      workflowId: `incident-healthy-${Date.now()}`,
      taskQueue: CONTROL_TASK_QUEUE,
      args: [{ snapshot: sim.history.at(-1)!, history: sim.history.slice(0, -1) }],
    });
    const r = await handle.result();
    assert.equal(r.anomalous, false);
    assert.deepEqual(r.rootCauses, []);
    assert.equal((await fetch(r.url)).status, 404);
  });
});
