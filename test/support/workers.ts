import { Client, Connection } from '@temporalio/client';
import { freePort } from '../../common/net.js';
import { spawnWorker, waitUntilReady, type WorkerProcess } from '../../common/worker-process.js';
import type { TestEnv } from './env.js';

/** Starts a real worker process of one role against the test's namespace and waits until it polls. */
export async function startWorkerProcess(env: TestEnv, role: 'control' | 'ml' | 'node', opts: { nodeId?: string; extraEnv?: NodeJS.ProcessEnv } = {}): Promise<WorkerProcess> {
  const args = ['--role', role, ...(opts.nodeId ? ['--node-id', opts.nodeId] : [])];
  const lines: string[] = [];
  const w = spawnWorker({
    name: `${role}${opts.nodeId ? ':' + opts.nodeId : ''}`,
    args,
    httpPort: await freePort(),
    // eBPF off unless a test asks for it (test/ebpf/ does): node workers need root and built objects for it.
    env: { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace, X0T_LOG_LEVEL: 'warn', X0T_EBPF: 'off', ...opts.extraEnv },
    // Keep worker output out of the test report unless something fails.
    output: (line) => lines.push(line),
  });
  try {
    await waitUntilReady(w, 60_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${lines.slice(-20).join('\n')}`);
  }
  return w;
}

/** A client on the test's namespace; close the returned connection in the test's `after`. */
export async function testClient(env: TestEnv): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: env.address });
  return { client: new Client({ connection, namespace: env.namespace }), connection };
}
