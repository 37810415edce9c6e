/** `npm run build:bpf [-- --force]`: compiles bpf/src/*.bpf.c into bpf/build/ (see bpf/build.ts). */
import { buildBpf } from '../bpf/build.js';
import { exitOnError } from '../common/errors.js';

try {
  const objs = buildBpf({ force: process.argv.includes('--force'), log: (l) => console.error(`build:bpf: ${l}`) });
  console.error(`build:bpf: ${objs.length} objects up to date in bpf/build/`);
} catch (err) {
  exitOnError(err);
}
