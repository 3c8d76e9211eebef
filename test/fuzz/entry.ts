// Test-only entry: the internals the fuzz tests drive, bundled from src/ as
// scripts/build.mjs bundles dist/ (dist/ does not export them). The fuzz
// tests need them to see an exception before the guard wraps it.
export { parseBundle } from '../../src/bundle/parse-bundle.js';
export { verifyBundle } from '../../src/verify/verify-bundle.js';
export { resolveSigners } from '../../src/trust/signers.js';
export { parsePublicKeyPem } from '../../src/trust/keys.js';
export { parseTrustedRoot } from '../../src/trust/trusted-root.js';
export { loadPolicyFile } from '../../src/policy/load-policy.js';
export { Guard } from '../../src/guard/guard.js';
export { ErrorCodes, TrustloadError } from '../../src/errors.js';
export { compileGlob, globProblem } from '../../src/policy/globs.js';
