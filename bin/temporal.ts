/**
 * `npm run temporal -- <args>`: the project's pinned `temporal` CLI, pointed at the configured
 * server (TEMPORAL_ADDRESS/TEMPORAL_NAMESPACE, else the embedded dev server of temporal-dev.yaml).
 */
import { spawn } from 'node:child_process';
import { exitOnError } from '../common/errors.js';
import { ensureTemporalCli } from '../common/temporal-cli.js';
import { loadTemporalTarget } from '../common/temporal-target.js';

try {
  const cli = ensureTemporalCli();
  const target = loadTemporalTarget();
  const child = spawn(cli, process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, TEMPORAL_ADDRESS: target.address, TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE ?? target.namespace },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
} catch (err) {
  exitOnError(err);
}
