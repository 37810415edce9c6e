/** `npm run train`: trains the mesh GraphSAGE and the root-cause ranker, writes ml/models/mesh-sage.json. */
import { initBackend } from './backend.js';
import { DEFAULT_MODEL_PATH, saveMeshModel } from './model.js';
import { trainMeshModel } from './training.js';

function bar(done: number, total: number, note: string): void {
  if (!process.stderr.isTTY && done !== total && done % 25 !== 0) return;
  const width = 30;
  const fill = Math.round((done / total) * width);
  const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round((done / total) * 100)).padStart(3)}% ${note}`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1]! : DEFAULT_MODEL_PATH;
  const backend = await initBackend();
  console.log(`training on TensorFlow.js backend: ${backend}`);
  const report = await trainMeshModel({ onProgress: bar });
  if (process.stderr.isTTY) process.stderr.write('\n');
  saveMeshModel(out, report.file);
  console.log(`wrote ${out}`);
  console.log(JSON.stringify(report.file.training, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
