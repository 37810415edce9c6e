import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { fromRoot } from '../../common/paths.js';
import * as workflows from '../../workflows/index.js';

Runtime.install({ logger: new DefaultLogger('WARN') }); // replay workers log every state change at INFO

const dir = fromRoot('test/histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
// While histories are being re-recorded (X0T_RECORD_HISTORIES=1) they change under us: replay them in the next run.
const recording = process.env.X0T_RECORD_HISTORIES === '1';

test('every workflow has a recorded history to replay', { skip: recording && 'recording histories' }, () => {
  const recorded = new Set(files.map((f) => path.basename(f, '.json').split('.')[0]));
  const missing = Object.keys(workflows).filter((w) => !recorded.has(w));
  assert.deepEqual(missing, [], `record histories for: ${missing.join(', ')} (see ARCHITECTURE.md, "Replay histories")`);
});

test('recorded histories replay deterministically against the current workflow code', { skip: recording && 'recording histories' }, async () => {
  const histories = files.map((f) => ({ workflowId: f, history: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) }));
  const results = Worker.runReplayHistories({ workflowBundle: { codePath: process.env.X0T_WORKFLOW_BUNDLE! }, replayName: 'x0t-replay' }, histories);
  let replayed = 0;
  for await (const r of results) {
    assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
    replayed++;
  }
  assert.equal(replayed, files.length);
});
