import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readFileLimited } from '../io/read.js';
import { PUBLIC_GOOD_ROOT as PUBLIC_GOOD } from '../policy/public-good-name.js';
import { PUBLIC_GOOD_ROOT_SHA256 } from './public-good-digest.js';
import { parseTrustedRoot, type NamedTrustedRoot } from './trusted-root.js';


// dist/*.js sits one folder below the package root, next to trust/.
const ROOT_FILE = fileURLToPath(new URL('../trust/sigstore-public-good.trusted_root.json', import.meta.url));

let cached: NamedTrustedRoot | undefined;

/** The public-good trusted root shipped in the package, checked against the digest pinned at build time. */
export function publicGoodRoot(): NamedTrustedRoot {
  if (cached) return cached;
  const bytes = readFileLimited(ROOT_FILE, 1024 * 1024, 'shipped trusted root', ErrorCodes.POLICY);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== PUBLIC_GOOD_ROOT_SHA256) {
    throw new TrustloadError(ErrorCodes.POLICY, `the shipped ${PUBLIC_GOOD} trusted root has been modified`, {
      path: ROOT_FILE,
      expected: `sha256:${PUBLIC_GOOD_ROOT_SHA256}`,
      found: `sha256:${digest}`,
    });
  }
  cached = { name: PUBLIC_GOOD, root: parseTrustedRoot(bytes, ROOT_FILE) };
  return cached;
}
