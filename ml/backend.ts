import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { TFJS_NODE_DIR } from './setup-tfjs-node.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';


function tryTensorflow(): boolean {
  const pkg = path.join(TFJS_NODE_DIR, 'node_modules/@tensorflow/tfjs-node');
  if (!fs.existsSync(path.join(pkg, 'lib/napi-v8/tfjs_binding.node'))) return false;
  try {
    // Its own tfjs copy is the same version and registers into the shared global engine; while it
    // loads, it re-registers the cpu kernels we already have and says so once per kernel.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '2'; // TensorFlow's C++ start-up chatter
    const warn = console.warn;
    console.warn = (...a: unknown[]) => {
      if (!/already (been set|registered)/.test(String(a[0]))) warn(...a);
    };
    try {
      createRequire(path.join(TFJS_NODE_DIR, 'package.json'))('@tensorflow/tfjs-node');
    } finally {
      console.warn = warn;
    }
    return tf.findBackend('tensorflow') !== null || tf.engine().registryFactory['tensorflow'] !== undefined;
  } catch {
    return false;
  }
}

let chosen: Promise<BackendName> | undefined;

/**
 * Picks the fastest backend that works here, once per process: the native TensorFlow backend when
 * setup built it, else WebAssembly (SIMD), else pure JS. `X0T_ML_BACKEND` forces one.
 * The model code is the same on every backend.
 */
export function initBackend(): Promise<BackendName> {
  chosen ??= (async () => {
    const forced = process.env.X0T_ML_BACKEND as BackendName | undefined;
    const order: BackendName[] = forced ? [forced] : ['tensorflow', 'wasm', 'cpu'];
    for (const name of order) {
      if (name === 'tensorflow' && !tryTensorflow()) continue;
      if (name === 'wasm') {
        const dist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
        setWasmPaths(dist + path.sep);
      }
      try {
        if (await tf.setBackend(name)) {
          await tf.ready();
          return name;
        }
      } catch {
        // fall through to the next backend
      }
    }
    throw new Error(`no TensorFlow.js backend among ${order.join(', ')} could start`);
  })();
  return chosen;
}

export { tf };
