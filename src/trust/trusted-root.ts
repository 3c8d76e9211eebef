import { TrustedRoot } from '@sigstore/protobuf-specs';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { checkTrustedRootJson } from './check-trusted-root.js';

/** A trusted root with the name the policy (or command line) gave it. */
export interface NamedTrustedRoot {
  name: string;
  root: TrustedRoot;
}

/** Checks and decodes a trusted_root.json. */
export function parseTrustedRoot(bytes: Uint8Array, source: string): TrustedRoot {
  const json = checkTrustedRootJson(bytes, source);
  try {
    return TrustedRoot.fromJSON(json);
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `trusted root ${source} cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
}
