/**
 * A configuration or environment problem found before anything starts. The message says what is
 * wrong and what to do; entry points print it without a stack trace and exit 2.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Prints a ConfigError plainly (other errors with their stack) and exits non-zero. */
export function exitOnError(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`x0tta6bl4: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
}
