import fs from 'node:fs';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { devServerAddress, loadDevServerSpec } from './dev-server-spec.js';
import { ConfigError } from './errors.js';

/** Where a process finds Temporal: address, namespace and connection options (TLS, API key). */
export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
  /** True when no TEMPORAL_ADDRESS/profile named a server: the embedded dev server is meant. */
  embedded: boolean;
}

const TLS_PATH_VARS = ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'];

/**
 * Reads the Temporal target the way Temporal's own tools do (envconfig: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_PROFILE and its TOML file),
 * falling back to the embedded dev server of temporal-dev.yaml. Problems are ConfigErrors.
 */
export function loadTemporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  for (const v of TLS_PATH_VARS) {
    const file = env[v];
    if (file && !fs.existsSync(file)) throw new ConfigError(`${v}=${file}: no such file (the mTLS certificate/key must exist)`);
  }
  if ((env.TEMPORAL_TLS_CLIENT_CERT_PATH ? 1 : 0) + (env.TEMPORAL_TLS_CLIENT_KEY_PATH ? 1 : 0) === 1) {
    throw new ConfigError('mTLS needs both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH');
  }
  let loaded;
  try {
    loaded = loadClientConnectConfig({
      profile: env.TEMPORAL_PROFILE,
      overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    });
  } catch (err) {
    throw new ConfigError(`cannot load the Temporal client config: ${(err as Error).message}`);
  }
  const spec = loadDevServerSpec();
  const embedded = !loaded.connectionOptions.address;
  const address = loaded.connectionOptions.address ?? devServerAddress(spec);
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address) || Number(address.split(':').pop()) > 65535) {
    throw new ConfigError(`TEMPORAL_ADDRESS=${address} is not host:port (e.g. 127.0.0.1:7233 or temporal.example.com:7233)`);
  }
  return {
    address,
    namespace: loaded.namespace ?? spec.namespace,
    connectionOptions: { ...loaded.connectionOptions, address },
    embedded,
  };
}
