// Test-only entry: the manifest builder and parser, bundled from src/ as
// scripts/build.mjs bundles dist/ (dist/ exports them only through sign()).
export { describeDirectory, DEFAULT_SHARD_SIZE } from '../../src/manifest/describe-directory.js';
export { parseManifestPayload } from '../../src/manifest/predicate.js';
export { TrustloadError } from '../../src/errors.js';
