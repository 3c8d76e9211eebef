import type { Guard } from '../guard/guard.js';
import { VerifiedFileWatch } from './watch-verified.js';

/** Policy `"watch": true`: every file the guard verifies from now on is watched for later changes. */
export function watchVerifiedFiles(guard: Guard): void {
  const watch = new VerifiedFileWatch();
  guard.onVerified((load) => watch.add(load));
}
