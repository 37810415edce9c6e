import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * The process's own metrics registry: Node's default metrics plus whatever each role's
 * activities register (eBPF maps, model backend, payments). One registry per process.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'x0t_' });

export const workerUp = new Gauge({
  name: 'x0t_worker_up',
  help: '1 while this process\'s Temporal worker is running and polling',
  labelNames: ['role', 'task_queue'] as const,
  registers: [registry],
});

/**
 * Renders prom-client's metrics followed by the Temporal SDK runtime's own (served by core on a
 * loopback port we pick), so one scrape of /metrics gets both.
 */
export async function renderMetrics(sdkMetricsUrl?: string): Promise<string> {
  const own = await registry.metrics();
  if (!sdkMetricsUrl) return own;
  try {
    const res = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2000) });
    return `${own}\n${await res.text()}`;
  } catch (err) {
    return `${own}\n# Temporal SDK metrics unavailable: ${(err as Error).message.replace(/\n/g, ' ')}\n`;
  }
}
