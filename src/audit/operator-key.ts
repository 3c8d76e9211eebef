import type { KeyObject } from 'node:crypto';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { parseBundle } from '../bundle/parse-bundle.js';
import { MAX_BUNDLE_BYTES, readFileLimited } from '../io/read.js';
import { resolveSigners } from '../trust/signers.js';
import type { SignerSpec } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';

/** The operator's key as a signer, named by where it came from: sealed segments and heads are signed by it, offline. */
export function operatorSigner(name: string, key: KeyObject): SignerSpec {
  return resolveSigners({ [name]: { key: name, transparencyLog: false } }, { roots: new Map(), keys: new Map([[name, key]]), cas: new Map() }).get(name)!;
}

/** Why `bytes` (read from `path`) are not signed by `signer` in `PATH.sigstore.json`; undefined when they are. */
export function unsignedReason(path: string, bytes: Buffer, signer: SignerSpec): string | undefined {
  const bundlePath = `${path}.sigstore.json`;
  try {
    const bundle = parseBundle(readFileLimited(bundlePath, MAX_BUNDLE_BYTES, 'bundle', ErrorCodes.BAD_BUNDLE, ErrorCodes.NO_BUNDLE), bundlePath);
    verifyBundle(bundle, { bytes }, [signer]);
    return undefined;
  } catch (err) {
    return err instanceof TrustloadError ? `${err.code}: ${err.message}` : (err as Error).message;
  }
}
