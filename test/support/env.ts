/**
 * What every test file gets from test/run.ts: the one shared dev server, its own namespace,
 * and the workflow bundle built once for the whole run.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The namespace a test file owns on the shared server (created at launch by the runner). */
export function namespaceFor(testFile: string): string {
  // From the path under test/, so same-named files in different areas never share a namespace.
  const file = path.resolve(testFile.startsWith('file:') ? fileURLToPath(testFile) : testFile);
  return 't-' + path.relative(testRoot, file).replace(/\.test\.ts$/, '').replace(/[^A-Za-z0-9-]/g, '-');
}

const testRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface TestEnv {
  address: string;
  namespace: string;
  workflowBundlePath: string;
}

/** Reads the shared test environment; fails clearly when the file is run outside `npm test`. */
export function testEnv(importMetaUrl: string): TestEnv {
  const address = process.env.X0T_TEST_TEMPORAL_ADDRESS;
  const workflowBundlePath = process.env.X0T_WORKFLOW_BUNDLE;
  if (!address || !workflowBundlePath) {
    throw new Error('run this test through `npm test` (test/run.ts starts the shared Temporal dev server and bundles workflows)');
  }
  return { address, namespace: namespaceFor(importMetaUrl), workflowBundlePath };
}
