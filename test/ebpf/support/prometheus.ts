/**
 * A real Prometheus server (Debian's `prometheus` package) on loopback that scrapes one target every
 * second, for the exporter test. Installed with apt-get when missing and we are root.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../common/net.js';

const BIN = '/usr/bin/prometheus';

/** Installs Debian's prometheus if needed; returns why it is unavailable, or undefined. */
export function ensurePrometheus(): string | undefined {
  if (fs.existsSync(BIN)) return undefined;
  if (process.getuid?.() !== 0) return 'Debian package prometheus is not installed and we are not root to install it';
  const res = spawnSync('sh', ['-c', 'apt-get install -y --no-install-recommends prometheus || (apt-get update && apt-get install -y --no-install-recommends prometheus)'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  return fs.existsSync(BIN) ? undefined : `apt-get install prometheus failed: ${res.stderr.slice(-500)}`;
}

export interface PrometheusServer {
  url: string;
  /** Runs an instant query; returns the result vector. */
  query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

export async function startPrometheus(targetHostPort: string): Promise<PrometheusServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: x0t-node\n    static_configs:\n      - targets: ['${targetHostPort}']\n`,
  );
  const port = await freePort();
  const log: string[] = [];
  const child: ChildProcess = spawn(BIN, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => log.push(String(d)));
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 100 || child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${log.join('').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    async query(q) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${q} failed: ${body.error}`);
      return body.data.result;
    },
    stop,
  };
}
