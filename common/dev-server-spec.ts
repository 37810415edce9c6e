import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { freePort } from './net.js';
import { fromRoot } from './paths.js';

const searchAttributeType = z.enum(['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);
const port = z.number().int().min(0).max(65535);

/** The schema of temporal-dev.yaml: the embedded dev server, described once. */
export const devServerSpecSchema = z
  .object({
    ip: z.ipv4().or(z.literal('localhost')).default('127.0.0.1'),
    port: port.default(7233),
    ui: z.object({ enabled: z.boolean().default(true), port: port.default(8233) }).strict().default({ enabled: true, port: 8233 }),
    metricsPort: port.default(0),
    namespace: z.string().min(1).default('default'),
    extraNamespaces: z.array(z.string().min(1)).default([]),
    dbFilename: z.string().min(1).nullable().default(null),
    sqlitePragmas: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'never']).default('warn'),
    logFormat: z.enum(['json', 'pretty']).default('pretty'),
    searchAttributes: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), searchAttributeType).default({}),
    dynamicConfig: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type DevServerSpec = z.infer<typeof devServerSpecSchema>;

/** Reads and validates temporal-dev.yaml (or the file X0T_DEV_SERVER_SPEC names), with errors that name the field. */
export function loadDevServerSpec(file = fromRoot(process.env.X0T_DEV_SERVER_SPEC ?? 'temporal-dev.yaml')): DevServerSpec {
  let raw: unknown;
  try {
    raw = parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read dev server spec ${file}: ${(err as Error).message}`);
  }
  const parsed = devServerSpecSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid ${file}:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** The frontend address clients and workers dial. */
export function devServerAddress(spec: DevServerSpec): string {
  return `${spec.ip}:${spec.port}`;
}

/** Turns the spec into `temporal server start-dev` arguments. */
export function devServerArgs(spec: DevServerSpec): string[] {
  const args = ['server', 'start-dev', '--ip', spec.ip, '--port', String(spec.port)];
  args.push('--namespace', spec.namespace);
  for (const ns of spec.extraNamespaces) args.push('--namespace', ns);
  if (spec.ui.enabled) args.push('--ui-port', String(spec.ui.port));
  else args.push('--headless');
  if (spec.metricsPort > 0) args.push('--metrics-port', String(spec.metricsPort));
  if (spec.dbFilename) {
    args.push('--db-filename', fromRoot(spec.dbFilename));
    for (const [k, v] of Object.entries(spec.sqlitePragmas)) args.push('--sqlite-pragma', `${k}=${v}`);
  }
  for (const [name, type] of Object.entries(spec.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(spec.dynamicConfig)) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  args.push('--log-level', spec.logLevel, '--log-format', spec.logFormat);
  return args;
}

/**
 * The spec of temporal-dev.yaml made private for one run (tests, benchmarks): a free port,
 * no UI or metrics port, its SQLite file under workDir, quiet logs.
 */
export async function privateDevServerSpec(workDir: string, overrides: Partial<DevServerSpec> = {}): Promise<DevServerSpec> {
  const spec = loadDevServerSpec();
  return {
    ...spec,
    port: await freePort(spec.ip),
    ui: { enabled: false, port: 0 },
    metricsPort: 0,
    dbFilename: path.join(workDir, 'temporal.sqlite'),
    logLevel: 'error',
    ...overrides,
  };
}
