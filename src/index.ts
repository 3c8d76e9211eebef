export {
  createVerifiedReadStream,
  readVerified,
  readVerifiedSync,
  sign,
  stats,
  verifyDirectory,
  verifyFile,
  verifyToolDescriptors,
  type SignOptions,
  type SignResult,
  type ToolDescriptor,
  type VerifiedDirectory,
  type VerifyResult,
} from './api.js';
export { ErrorCodes, TrustloadError, type ErrorCode } from './errors.js';
export { DECISION_CHANNEL, type Decision } from './guard/events.js';
export type { GuardStats } from './guard/guard.js';
export type { Policy } from './policy/schema.js';
export { register, type RegisterOptions } from './register.js';
export type { VerifiedSigner } from './verify/signers.js';
