import Fastify, { type FastifyInstance } from 'fastify';
import { ConfigError } from '../common/errors.js';
import { renderMetrics, registry } from './metrics.js';

export interface ProbeState {
  /** Alive: the process can still do its job (false once the worker failed). */
  healthy(): boolean;
  /** Ready: the worker is running and polling its task queue. */
  ready(): boolean;
}

/**
 * /metrics, /healthz and /readyz for one worker process, plus any routes its role adds
 * (e.g. the control worker's incident API).
 */
export async function startHttpServer(opts: {
  host: string;
  port: number;
  probes: ProbeState;
  sdkMetricsUrl?: string;
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await renderMetrics(opts.sdkMetricsUrl)));
  app.get('/healthz', async (_req, reply) => reply.code(opts.probes.healthy() ? 200 : 503).send(opts.probes.healthy() ? 'ok\n' : 'worker failed\n'));
  app.get('/readyz', async (_req, reply) => reply.code(opts.probes.ready() ? 200 : 503).send(opts.probes.ready() ? 'ready\n' : 'not ready\n'));
  if (opts.extraRoutes) await opts.extraRoutes(app);
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`HTTP port ${opts.host}:${opts.port} is in use: pick another with --http-port or X0T_HTTP_PORT (0 = any free port)`);
    }
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { app, url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}` };
}
