import { spawnProjectChild, type ProjectChild } from './child-process.js';

export interface WorkerProcess extends ProjectChild {
  name: string;
  httpUrl: string;
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
  const proc = spawnProjectChild({
    name: opts.name,
    script: 'workers/main.ts',
    args: [...opts.args, '--http-port', String(opts.httpPort), '--http-host', '127.0.0.1'],
    env: { ...opts.env, X0T_SUPERVISOR_PID: String(process.pid) },
    output: opts.output,
  });
  return { ...proc, name: opts.name, httpUrl: `http://127.0.0.1:${opts.httpPort}` };
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
