/**
 * The bot as a child process of `npm start` (bot/main.ts), with its output prefixed like the
 * workers'. Ready once it printed "bot ready" (after getMe, commands and polling/webhook setup).
 */
import { spawnProjectChild, type ProjectChild } from '../common/child-process.js';

export interface BotProcess extends ProjectChild {
  ready: Promise<string>;
}

export function spawnBotProcess(opts: { env?: NodeJS.ProcessEnv; output?: (line: string) => void } = {}): BotProcess {
  let markReady: (line: string) => void = () => undefined;
  const proc = spawnProjectChild({
    name: 'bot',
    script: 'bot/main.ts',
    env: opts.env,
    output: opts.output,
    onLine: (line) => {
      if (line.startsWith('bot ready')) markReady(line);
    },
  });
  const ready = new Promise<string>((resolve, reject) => {
    markReady = resolve;
    void proc.exited.then(({ code, signal }) => reject(new Error(`the bot exited before it was ready (code ${code}, signal ${signal})`)));
  });
  ready.catch(() => undefined);
  return { ...proc, ready };
}
