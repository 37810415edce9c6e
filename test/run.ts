/**
 * `npm test`: starts ONE real Temporal dev server (the pinned CLI, the spec in temporal-dev.yaml
 * with a private port and a throwaway SQLite file), bundles the workflow code once, gives each
 * test file its own namespace, runs the files with node's test runner, and stops the server
 * whatever happened. Pass test files as arguments to run only those.
 */
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec as SpecReporter } from 'node:test/reporters';
import { bundleWorkflowCode } from '@temporalio/worker';
import { privateDevServerSpec } from '../common/dev-server-spec.js';
import { startDevServer } from '../common/dev-server.js';
import { fromRoot } from '../common/paths.js';
import { namespaceFor } from './support/env.js';

function findTestFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'support' ? [] : findTestFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const files = (args.length ? args.map((a) => path.resolve(a)) : findTestFiles(fromRoot('test'))).sort();
  const workDir = fromRoot(`.data/test-run-${process.pid}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(workDir, { recursive: true });

  const spec = await privateDevServerSpec(workDir, { extraNamespaces: [...new Set(files.map(namespaceFor))] });
  const started = Date.now();
  const server = await startDevServer(spec, { logFile: path.join(workDir, 'temporal-server.log') });
  // Interrupted (Ctrl-C, CI timeout): the server runs in its own process group, so stop it here.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void server.stop(3000).finally(() => process.exit(130)));
  }
  try {
    const bundle = await bundleWorkflowCode({ workflowsPath: fromRoot('workflows/index.ts'), logger: quietLogger });
    const bundlePath = path.join(workDir, 'workflow-bundle.js');
    fs.writeFileSync(bundlePath, bundle.code);
    process.stderr.write(`test run: dev server ${server.address} up and workflows bundled in ${Date.now() - started} ms; ${files.length} files\n`);

    Object.assign(process.env, {
      X0T_TEST_TEMPORAL_ADDRESS: server.address,
      X0T_WORKFLOW_BUNDLE: bundlePath,
      X0T_TEST_WORK_DIR: workDir,
      X0T_DATA_DIR: path.join(workDir, 'data'),
    });
    let failures = 0;
    const stream = run({ files, concurrency: Number(process.env.X0T_TEST_CONCURRENCY ?? 2), timeout: 10 * 60_000 });
    stream.on('test:fail', () => failures++);
    const report = stream.compose(new SpecReporter());
    report.pipe(process.stdout);
    await finished(report);
    return failures > 0 ? 1 : 0;
  } finally {
    await server.stop();
    if (process.env.X0T_KEEP_TEST_DIR !== '1') fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
