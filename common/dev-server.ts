import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerAddress, devServerArgs, type DevServerSpec } from './dev-server-spec.js';
import { ConfigError } from './errors.js';
import { isPortFree, waitForPort } from './net.js';
import { fromRoot } from './paths.js';
import { ensureTemporalCli } from './temporal-cli.js';

/** A running `temporal server start-dev` child process. */
export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  pid: number;
  logFile: string;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Waits until the frontend answers gRPC (not only TCP): the namespace is usable then. */
async function waitUntilServing(address: string, namespace: string, child: ChildProcess, timeoutMs: number) {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const deadline = Date.now() + timeoutMs;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) => reject(new Error(`temporal dev server exited early (code ${code}, signal ${sig})`))),
  );
  await Promise.race([waitForPort(port, host, timeoutMs), exited]);
  for (;;) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`temporal dev server at ${address} did not serve in time: ${(err as Error).message}`);
      await Promise.race([new Promise((r) => setTimeout(r, 200)), exited]);
    }
  }
}

/**
 * Starts the embedded dev server as the spec describes it and waits until it serves.
 * Its output goes to logFile so the caller's terminal stays readable.
 */
export async function startDevServer(spec: DevServerSpec, opts: { logFile?: string; timeoutMs?: number } = {}): Promise<DevServer> {
  const cli = ensureTemporalCli();
  const ports = [spec.port, ...(spec.ui.enabled ? [spec.ui.port] : []), ...(spec.metricsPort ? [spec.metricsPort] : [])];
  for (const p of ports) {
    if (!(await isPortFree(p, spec.ip))) {
      throw new ConfigError(
        `port ${spec.ip}:${p} is in use, so the dev server cannot start. Stop whatever holds it, change temporal-dev.yaml, ` +
          `or set TEMPORAL_ADDRESS to use a Temporal server that is already running.`,
      );
    }
  }
  if (spec.dbFilename) fs.mkdirSync(path.dirname(fromRoot(spec.dbFilename)), { recursive: true });
  const logFile = opts.logFile ?? fromRoot('.data/temporal-server.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const address = devServerAddress(spec);
  // The CLI picks its internal ports (history, matching, membership, HTTP API) as "free" just before it
  // binds them; under a busy test run another process can take one in between, and the server stops
  // with a bind error or a panic (exit 2). That is worth another try; the log says what happened.
  for (let attempt = 1; ; attempt++) {
    const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const { child, stop } = spawnServer(cli, spec, logFile);
    try {
      await waitUntilServing(address, spec.namespace, child, opts.timeoutMs ?? 60_000);
      return {
        address,
        namespace: spec.namespace,
        uiUrl: spec.ui.enabled ? `http://${spec.ip === '127.0.0.1' ? 'localhost' : spec.ip}:${spec.ui.port}` : undefined,
        pid: child.pid!,
        logFile,
        stop,
      };
    } catch (err) {
      await stop(2000);
      const said = logTail(logFile, logOffset);
      if (attempt < 3 && /address already in use|^panic:/im.test(said)) continue;
      throw new Error(`${(err as Error).message} (log: ${logFile})${said ? `\n${said}` : ''}`);
    }
  }
}

function spawnServer(cli: string, spec: DevServerSpec, logFile: string) {
  const out = fs.openSync(logFile, 'a');
  // detached: its own process group, so a terminal's Ctrl-C reaches us first and we stop it in order.
  const child = spawn(cli, devServerArgs(spec), { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exitedPromise;
    clearTimeout(timer);
  };
  return { child, stop };
}

/** The last lines the server wrote since offset (why it stopped), at most 2,000 characters. */
function logTail(logFile: string, offset: number): string {
  try {
    const text = fs.readFileSync(logFile).subarray(offset).toString('utf8').trim();
    return text.slice(-2000);
  } catch {
    return '';
  }
}
