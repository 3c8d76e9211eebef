// Bench-only entry: the internals bench/run.mjs times, bundled from src/ the
// same way scripts/build.mjs bundles dist/ (dist/ does not export them).
export { parseBundle } from '../src/bundle/parse-bundle.js';
export { verifyBundle } from '../src/verify/verify-bundle.js';
export { resolveSigners } from '../src/trust/signers.js';
export { parsePublicKeyPem } from '../src/trust/keys.js';
export { parseManifestPayload } from '../src/manifest/predicate.js';
export { requireClosedSet } from '../src/manifest/closed-set.js';
