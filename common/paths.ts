import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (the folder holding package.json), whatever the cwd. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Resolves a path relative to the project root; absolute paths pass through. */
export function fromRoot(p: string): string {
  return path.isAbsolute(p) ? p : path.join(projectRoot, p);
}

/** Where processes keep local state (SQLite, snapshots, keys). Override with X0T_DATA_DIR. */
export function dataDir(): string {
  return fromRoot(process.env.X0T_DATA_DIR ?? '.data');
}
