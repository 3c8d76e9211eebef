import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { toSignedEntity, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownOptions } from '../io/frozen.js';
import type { Artifact } from './artifact.js';
import { certificateIdentity, type CertificateIdentity } from './claims.js';
import { fromLibraryError } from './library-errors.js';
import { signatureContent } from './signature-content.js';
import {
  describeExpectedIdentity,
  matchKeyless,
  type KeylessSignerSpec,
  type KeySignerSpec,
  type SignerSpec,
  type VerifiedSigner,
} from './signers.js';

/**
 * The one verification path: the hook, the API and the command line all end
 * here. Checks that `bundle` is a valid Sigstore signature over `artifact` by
 * one of `signers`, offline, and returns the signer that accepted it, or
 * throws a TrustloadError saying why none did.
 */
export function verifyBundle(bundle: Bundle, artifact: Artifact, signers: readonly SignerSpec[]): VerifiedSigner {
  if (signers.length === 0) {
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'no signer is allowed for this file');
  }
  let entity: SignedEntity;
  try {
    entity = { ...toSignedEntity(bundle), signature: signatureContent(bundle, artifact) };
  } catch (err) {
    throw fromLibraryError(err);
  }
  return entity.key.$case === 'certificate'
    ? verifyKeyless(entity, entity.key.certificate, signers.filter((s): s is KeylessSignerSpec => s.kind === 'keyless'))
    : verifyWithKeys(entity, signers.filter((s): s is KeySignerSpec => s.kind === 'key'));
}

function verifyKeyless(entity: SignedEntity, certificate: X509Certificate, signers: KeylessSignerSpec[]): VerifiedSigner {
  if (signers.length === 0) {
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle is signed with a certificate, but only key signers are allowed', {
      expected: 'a key signature',
      found: 'a certificate',
    });
  }
  if (!entity.signature.verifySignature(certificateKey(certificate))) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, "the signature does not verify with the signing certificate's key");
  }
  // Signers naming the same roots share a TrustMaterial: check the bundle once per distinct set.
  const groups = new Map<TrustMaterial, KeylessSignerSpec[]>();
  for (const signer of signers) groups.set(signer.material, [...(groups.get(signer.material) ?? []), signer]);

  let firstFailure: TrustloadError | undefined;
  let verifiedIdentity: CertificateIdentity | undefined;
  for (const [material, group] of groups) {
    try {
      new Verifier(material, ownOptions({ ctlogThreshold: 1, tlogThreshold: 1, timestampThreshold: 1 })).verify(entity);
    } catch (err) {
      firstFailure ??= fromLibraryError(err);
      continue;
    }
    const found = certificateIdentity(certificate);
    verifiedIdentity = found;
    for (const signer of group) {
      if (matchKeyless(signer, found) === undefined) {
        return { signer: signer.name, kind: 'keyless', identity: found.identity, issuer: found.issuer, claims: found.claims, roots: signer.roots, logged: true };
      }
    }
  }
  if (verifiedIdentity !== undefined) {
    // The signature is genuine but its signer is not one this rule allows: say exactly what differed.
    const mismatches = signers.map((s) => matchKeyless(s, verifiedIdentity!)!);
    const only = signers.length === 1 ? mismatches[0]! : undefined;
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle was signed by an identity this rule does not allow', {
      expected: only?.expected ?? signers.map(describeExpectedIdentity),
      found: only?.found ?? `${verifiedIdentity.identity ?? '(no identity)'} from ${verifiedIdentity.issuer ?? '(no issuer)'}`,
    });
  }
  throw firstFailure!;
}

function verifyWithKeys(entity: SignedEntity, signers: KeySignerSpec[]): VerifiedSigner {
  if (signers.length === 0) {
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle is signed with a key, but only keyless (certificate) signers are allowed', {
      expected: 'a Fulcio certificate',
      found: 'a public key signature',
    });
  }
  // The key comes from the signer, whatever hint the bundle carries.
  const candidates = signers.filter((signer) => entity.signature.verifySignature(signer.key));
  if (candidates.length === 0) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, signers.length === 1 ? 'the signature does not verify with the key' : 'the signature does not verify with any allowed key', {
      expected: signers.map((s) => `a signature by key ${s.keyName}`),
      found: 'a signature that none of them made',
    });
  }
  let firstFailure: TrustloadError | undefined;
  for (const signer of candidates) {
    const thresholds = signer.transparencyLog ? { tlogThreshold: 1 } : { tlogThreshold: 0 };
    try {
      new Verifier(signer.material, ownOptions({ ...thresholds, ctlogThreshold: 0, timestampThreshold: 0 })).verify(entity);
      return { signer: signer.name, kind: 'key', key: signer.keyName, roots: signer.roots, logged: signer.transparencyLog };
    } catch (err) {
      firstFailure ??= fromLibraryError(err);
    }
  }
  throw firstFailure!;
}

function certificateKey(certificate: X509Certificate): KeyObject {
  try {
    return createPublicKey(ownOptions({ key: certificate.publicKey, format: 'der' as const, type: 'spki' as const }));
  } catch (err) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `the signing certificate's public key cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
}
