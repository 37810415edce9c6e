/**
 * A TypeScript entry point of this project run as a child process (`node --import tsx <script>`),
 * each output line prefixed with its name; the shared part of workers and the bot under `npm start`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fromRoot } from './paths.js';

export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

export interface ProjectChild {
  child: ChildProcess;
  exited: Promise<ChildExit>;
  /** SIGTERM (drain), then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnProjectChild(opts: {
  name: string;
  script: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  output?: (line: string) => void;
  /** Sees every line before it is printed (e.g. to notice a readiness line). */
  onLine?: (line: string) => void;
}): ProjectChild {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot(opts.script), ...(opts.args ?? [])], {
    cwd: fromRoot('.'),
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = opts.output ?? ((line) => process.stderr.write(`${line}\n`));
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      opts.onLine?.(line);
      out(`${opts.name.padEnd(10)}| ${line}`);
    });
  }
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
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
