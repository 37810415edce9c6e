import os from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError } from '../common/errors.js';
import { isValidNodeId } from '../common/task-queues.js';

export const ROLES = ['control', 'node', 'ml'] as const;
export type Role = (typeof ROLES)[number];

/** Default HTTP ports for /metrics, /healthz, /readyz per role (all overridable). */
export const DEFAULT_HTTP_PORTS: Record<Role, number> = { control: 9464, ml: 9465, node: 9466 };

export interface WorkerConfig {
  role: Role;
  nodeId: string;
  httpHost: string;
  httpPort: number;
  /** A prebuilt workflow bundle (tests, images); otherwise the control worker bundles at start. */
  workflowBundlePath?: string;
  heartbeatMs: number;
  /** Worker tuning (unset = SDK defaults): raise for load tests, lower on small nodes. */
  tuning: { maxConcurrentActivityTaskExecutions?: number; maxConcurrentWorkflowTaskExecutions?: number; maxCachedWorkflows?: number };
}

const usage = `usage: npm run worker -- --role control|node|ml [--node-id ID] [--http-port PORT] [--http-host HOST]
env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH, TEMPORAL_PROFILE,
     X0T_NODE_ID, X0T_HTTP_PORT, X0T_HTTP_HOST, X0T_WORKFLOW_BUNDLE, X0T_NODE_HEARTBEAT_MS,
     X0T_MAX_CONCURRENT_ACTIVITIES, X0T_MAX_CONCURRENT_WORKFLOW_TASKS, X0T_MAX_CACHED_WORKFLOWS`;

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}=${raw} must be a whole number ≥ 1`);
  return n;
}

function parsePort(raw: string, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${what}=${raw} is not a port number (0-65535; 0 = any free port)`);
  return n;
}

/** Reads a worker's configuration from argv and env, with errors that say how to fix them. */
export function loadWorkerConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string' },
        'node-id': { type: 'string' },
        'http-port': { type: 'string' },
        'http-host': { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${usage}`);
  }
  const role = values.role ?? env.X0T_ROLE;
  if (!role) throw new ConfigError(`--role is required\n${usage}`);
  if (!(ROLES as readonly string[]).includes(role)) throw new ConfigError(`unknown role "${role}": expected one of ${ROLES.join(', ')}\n${usage}`);
  const nodeId = values['node-id'] ?? env.X0T_NODE_ID ?? os.hostname();
  if (!isValidNodeId(nodeId)) throw new ConfigError(`node id "${nodeId}" is not valid: use letters, digits, '.', '_' or '-' (at most 63); set --node-id or X0T_NODE_ID`);
  const portRaw = values['http-port'] ?? env.X0T_HTTP_PORT;
  const heartbeatMs = Number(env.X0T_NODE_HEARTBEAT_MS ?? 5000);
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 100) throw new ConfigError(`X0T_NODE_HEARTBEAT_MS=${env.X0T_NODE_HEARTBEAT_MS} must be ≥ 100`);
  return {
    role: role as Role,
    nodeId,
    httpHost: values['http-host'] ?? env.X0T_HTTP_HOST ?? '0.0.0.0',
    httpPort: portRaw === undefined ? DEFAULT_HTTP_PORTS[role as Role] : parsePort(portRaw, '--http-port'),
    workflowBundlePath: env.X0T_WORKFLOW_BUNDLE || undefined,
    heartbeatMs,
    tuning: {
      maxConcurrentActivityTaskExecutions: positiveInt(env, 'X0T_MAX_CONCURRENT_ACTIVITIES'),
      maxConcurrentWorkflowTaskExecutions: positiveInt(env, 'X0T_MAX_CONCURRENT_WORKFLOW_TASKS'),
      maxCachedWorkflows: positiveInt(env, 'X0T_MAX_CACHED_WORKFLOWS'),
    },
  };
}
