/**
 * Builds `@tensorflow/tfjs-node` into .tools/tfjs-node from registry packages alone: the npm package
 * (its install script, which downloads libtensorflow from a host we cannot reach, is skipped), the
 * TensorFlow C library and headers from PyPI's `tensorflow-cpu` wheel, and its native addon compiled
 * with node-gyp against them. ml/backend.ts uses it when present and falls back to WebAssembly
 * otherwise, so a failure here is a note, never a failed install. Skip with X0T_SKIP_TFJS_NODE=1.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../common/paths.js';

/** Where the build goes (the backend looks there). */
export const TFJS_NODE_DIR = process.env.X0T_TFJS_NODE_DIR ?? fromRoot('.tools/tfjs-node');

const TFJS_NODE_VERSION = '4.22.0';
const TENSORFLOW_CPU_VERSION = '2.21.0';
const NAPI = 8;

function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs: number }): void {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: opts.timeoutMs });
  if (r.error) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} …: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`);
}

/** Where node-gyp finds Node's headers (include/node/node_api.h) for this Node binary. */
function nodeDir(): string | null {
  const dir = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(dir, 'include/node/node_api.h')) ? dir : null;
}

function nodeGyp(): string | null {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  return candidates.find((c): c is string => !!c && fs.existsSync(c)) ?? null;
}

export function tfjsNodeReady(dir = TFJS_NODE_DIR): boolean {
  return fs.existsSync(path.join(dir, `node_modules/@tensorflow/tfjs-node/lib/napi-v${NAPI}/tfjs_binding.node`));
}

/** Builds it once; returns what happened, throws with the step that failed. */
export function ensureTfjsNode(log: (line: string) => void, dir = TFJS_NODE_DIR): 'present' | 'built' {
  if (tfjsNodeReady(dir)) return 'present';
  const headers = nodeDir();
  if (!headers) throw new Error(`no Node headers beside ${process.execPath} (include/node/node_api.h)`);
  const gyp = nodeGyp();
  if (!gyp) throw new Error('node-gyp not found (npm ships it)');
  const t0 = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true, "description": "tfjs-node built by ml/setup-tfjs-node.ts" }\n');
  log(`tfjs-node: npm install @tensorflow/tfjs-node@${TFJS_NODE_VERSION} --ignore-scripts`);
  run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`], { cwd: dir, timeoutMs: 300_000 });
  const pkg = path.join(dir, 'node_modules/@tensorflow/tfjs-node');
  const wheelDir = path.join(dir, 'wheel');
  log(`tfjs-node: pip download tensorflow-cpu==${TENSORFLOW_CPU_VERSION} (the C library and headers, ~270 MB)`);
  run('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-d', wheelDir, `tensorflow-cpu==${TENSORFLOW_CPU_VERSION}`], { timeoutMs: 600_000 });
  const wheel = fs.readdirSync(wheelDir).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error('pip downloaded no wheel');
  const deps = path.join(pkg, 'deps');
  log('tfjs-node: extracting libtensorflow_cc.so.2, libtensorflow_framework.so.2 and headers');
  const extract = `
import sys, zipfile, os, shutil
z = zipfile.ZipFile(sys.argv[1]); deps = sys.argv[2]
for n in z.namelist():
    if n in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'):
        dst = os.path.join(deps, 'lib', os.path.basename(n))
    elif n.startswith('tensorflow/include/') and not n.endswith('/'):
        dst = os.path.join(deps, 'include', n[len('tensorflow/include/'):])
    else:
        continue
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with z.open(n) as src, open(dst, 'wb') as out:
        shutil.copyfileobj(src, out)
`;
  run('python3', ['-c', extract, path.join(wheelDir, wheel), deps], { timeoutMs: 300_000 });
  // binding.gyp links -ltensorflow; TensorFlow's wheels ship the C API inside libtensorflow_cc.
  for (const [link, target] of [['libtensorflow.so', 'libtensorflow_cc.so.2'], ['libtensorflow.so.2', 'libtensorflow_cc.so.2'], ['libtensorflow_framework.so', 'libtensorflow_framework.so.2']] as const) {
    fs.rmSync(path.join(deps, 'lib', link), { force: true });
    fs.symlinkSync(target, path.join(deps, 'lib', link));
  }
  fs.rmSync(wheelDir, { recursive: true, force: true });
  log('tfjs-node: node-gyp rebuild against them');
  run(process.execPath, [gyp, 'rebuild', `--nodedir=${headers}`, '--module_name=tfjs_binding', `--module_path=lib/napi-v${NAPI}`, `--napi_build_version=${NAPI}`], { cwd: pkg, timeoutMs: 600_000 });
  fs.mkdirSync(path.join(pkg, `lib/napi-v${NAPI}`), { recursive: true });
  fs.copyFileSync(path.join(pkg, 'build/Release/tfjs_binding.node'), path.join(pkg, `lib/napi-v${NAPI}/tfjs_binding.node`));
  // Prove it loads before anyone relies on it.
  run(process.execPath, ['-e', `require(${JSON.stringify(pkg)}); const tf = require(${JSON.stringify(path.join(dir, 'node_modules/@tensorflow/tfjs-core'))}); if (tf.getBackend() !== 'tensorflow') process.exit(3)`], { timeoutMs: 120_000 });
  log(`tfjs-node: ready in ${Math.round((Date.now() - t0) / 1000)} s (${dir})`);
  return 'built';
}

// `node --import tsx ml/setup-tfjs-node.ts`: build it now (bin/setup.ts calls ensureTfjsNode too).
if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(ensureTfjsNode((l) => console.error(l)));
  } catch (err) {
    console.error(`tfjs-node not built: ${(err as Error).message}`);
    process.exit(1);
  }
}
