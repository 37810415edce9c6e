import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fromRoot } from './paths.js';

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  httpUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (drain), then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns `workers/main.ts` for one role as a child process, its output prefixed with its name.
 * Used by `npm start` and by tests that kill and restart workers.
 */
export function spawnWorker(opts: {
  name: string;
  args: string[];
  httpPort: number;
  env?: NodeJS.ProcessEnv;
  output?: (line: string) => void;
}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('workers/main.ts'), ...opts.args, '--http-port', String(opts.httpPort), '--http-host', '127.0.0.1'], {
    cwd: fromRoot('.'),
    env: { ...process.env, ...opts.env, X0T_SUPERVISOR_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = opts.output ?? ((line) => process.stderr.write(`${line}\n`));
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => out(`${opts.name.padEnd(10)}| ${line}`));
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    name: opts.name,
    child,
    httpUrl: `http://127.0.0.1:${opts.httpPort}`,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls a worker's /readyz until it answers 200; fails early if the process exits. */
export async function waitUntilReady(w: WorkerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void w.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${w.name} exited before it was ready (code ${w.child.exitCode}, signal ${w.child.signalCode})`);
    try {
      const res = await fetch(`${w.httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${w.name} not ready within ${timeoutMs} ms`);
}
