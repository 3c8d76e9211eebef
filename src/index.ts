export { ErrorCodes, TrustloadError, type ErrorCode } from './errors.js';
export type { VerifiedSigner } from './verify/signers.js';
export type { Policy } from './policy/schema.js';
