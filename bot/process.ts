/**
 * The bot as a child process of `npm start` (bot/main.ts), with its output prefixed like the
 * workers'. Ready once it printed "bot ready" (after getMe, commands and polling/webhook setup).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fromRoot } from '../common/paths.js';

export interface BotProcess {
  child: ChildProcess;
  ready: Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(graceMs?: number): Promise<void>;
}

export function spawnBotProcess(opts: { env?: NodeJS.ProcessEnv; output?: (line: string) => void } = {}): BotProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('bot/main.ts')], {
    cwd: fromRoot('.'),
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = opts.output ?? ((line) => process.stderr.write(`${line}\n`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let markReady: (line: string) => void;
  const ready = new Promise<string>((resolve, reject) => {
    markReady = resolve;
    void exited.then(({ code, signal }) => reject(new Error(`the bot exited before it was ready (code ${code}, signal ${signal})`)));
  });
  ready.catch(() => undefined);
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      if (line.startsWith('bot ready')) markReady(line);
      out(`${'bot'.padEnd(10)}| ${line}`);
    });
  }
  return {
    child,
    ready,
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
