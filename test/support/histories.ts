import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { fromRoot } from '../../common/paths.js';
import { ensureTemporalCli } from '../../common/temporal-cli.js';
import type { TestEnv } from './env.js';

/**
 * With X0T_RECORD_HISTORIES=1, saves a workflow's history as test/histories/<name>.json (the JSON
 * `temporal workflow show --output json` prints) for the replay test. See ARCHITECTURE.md.
 */
export async function recordHistoryIfAsked(env: TestEnv, handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.X0T_RECORD_HISTORIES !== '1') return;
  const json = execFileSync(ensureTemporalCli(), ['workflow', 'show', '--workflow-id', handle.workflowId, '--output', 'json', '--address', env.address, '--namespace', env.namespace], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.writeFileSync(fromRoot(path.join('test/histories', `${name}.json`)), json);
}
