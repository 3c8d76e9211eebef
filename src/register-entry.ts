import { TrustloadError } from './errors.js';
import { register } from './register.js';

/**
 * What `node --import trustload/register` runs. A policy that cannot be
 * loaded stops the process before the application starts: one line on
 * stderr naming the file, the field and the problem, and exit code 1.
 */
export function registerFromEnvironment(): void {
  try {
    register();
  } catch (err) {
    const line = err instanceof TrustloadError ? err.describe() : `unexpected failure: ${(err as Error)?.stack ?? String(err)}`;
    process.stderr.write(`trustload: ${line}\n`);
    process.exit(1);
  }
}
