import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { toSignedEntity, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { V03_MEDIA_TYPES } from '../bundle/parse-bundle.js';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownOptions } from '../io/frozen.js';
import type { Artifact } from './artifact.js';
import { validateCaChain, type CaLeaf } from './ca-chain.js';
import { certificateIdentity, type CertificateIdentity } from './claims.js';
import { explainMissingLogEntry, fromLibraryError } from './library-errors.js';
import { rootMismatch } from './root-mismatch.js';
import { signatureContent } from './signature-content.js';
import {
  describeCaIdentity,
  describeExpectedCaIdentity,
  describeExpectedIdentity,
  matchCa,
  matchKeyless,
  type CaSignerSpec,
  type KeylessSignerSpec,
  type KeySignerSpec,
  type SignerSpec,
  type VerifiedSigner,
} from './signers.js';
import { isSelfSigned, parseCertificate, type Certificate } from './x509.js';

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
  if (entity.key.$case !== 'certificate') return verifyWithKeys(entity, signers.filter((s): s is KeySignerSpec => s.kind === 'key'));

  const keyless = signers.filter((s): s is KeylessSignerSpec => s.kind === 'keyless');
  const cas = signers.filter((s): s is CaSignerSpec => s.kind === 'ca');
  if (keyless.length === 0 && cas.length === 0) {
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle is signed with a certificate, but only key signers are allowed', {
      expected: 'a key signature',
      found: 'a certificate',
    });
  }
  const chain = certificateChain(bundle);
  const certificate = entity.key.certificate;
  // A bundle is offered to the CA signers and to the keyless ones; when both refuse, the
  // refusal that got past the certificate chain says more than "not issued by this CA".
  const failures: TrustloadError[] = [];
  if (cas.length > 0) {
    try {
      return verifyWithCas(entity, chain, cas);
    } catch (err) {
      failures.push(fromLibraryError(err));
    }
  }
  if (keyless.length > 0) {
    try {
      return verifyKeyless(bundle, entity, chain, certificate, keyless);
    } catch (err) {
      failures.push(fromLibraryError(err));
    }
  }
  throw failures.find((f) => f.code !== ErrorCodes.CERTIFICATE) ?? failures.at(-1)!;
}

/** Every certificate the bundle carries, leaf first, decoded by node:crypto. */
function certificateChain(bundle: Bundle): Certificate[] {
  const content = bundle.verificationMaterial.content;
  const raws =
    content.$case === 'certificate' ? [content.certificate] : content.$case === 'x509CertificateChain' ? content.x509CertificateChain.certificates : [];
  // How many there may be is parseBundle's to say (it refuses a chain longer than any signer makes).
  return raws.map((raw, i) => {
    try {
      return parseCertificate(raw.rawBytes);
    } catch (err) {
      throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `certificate ${i} of the bundle cannot be parsed: ${(err as Error).message}`, { cause: err });
    }
  });
}

function verifyKeyless(bundle: Bundle, entity: SignedEntity, chain: Certificate[], certificate: X509Certificate, signers: KeylessSignerSpec[]): VerifiedSigner {
  // A chain that carries its own root would let the bundle bring the anchor it is checked
  // against; @sigstore/verify ignores everything after the leaf, so such bundles are refused,
  // as the Sigstore clients do.
  if (chain.some(isSelfSigned)) {
    throw new TrustloadError(ErrorCodes.CERTIFICATE, 'the certificate chain includes a root (self-signed) certificate');
  }
  if (V03_MEDIA_TYPES.has(bundle.mediaType) && bundle.verificationMaterial.content.$case === 'x509CertificateChain') {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, 'a v0.3 bundle carries one certificate, not a chain (chains are accepted only for ca signers)');
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
      firstFailure ??= rootMismatch(chain[0]!, material, group[0]!.roots) ?? explainMissingLogEntry(fromLibraryError(err), group[0]!);
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
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle was signed by an identity that no allowed signer accepts', {
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
      firstFailure ??= explainMissingLogEntry(fromLibraryError(err), signer);
    }
  }
  throw firstFailure!;
}

/**
 * A bundle from a private CA: the signature with the leaf's key, then the log
 * entries and timestamps against the trusted roots the signer names (none by
 * default: then any entry or timestamp refuses), then the chain at the times
 * they prove, or now when there are none.
 */
function verifyWithCas(entity: SignedEntity, chain: Certificate[], signers: CaSignerSpec[]): VerifiedSigner {
  const leafKey = chain[0]!.node.publicKey;
  if (!entity.signature.verifySignature(leafKey)) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, "the signature does not verify with the signing certificate's key");
  }
  // @sigstore/verify checks the logs and timestamps, treating the leaf's key as a known key;
  // the times it proves come back through validFor, which it asks of every verified one.
  const asKey: SignedEntity = { ...entity, key: { $case: 'public-key', hint: '' } };
  let firstFailure: TrustloadError | undefined;
  let validated: CaLeaf | undefined;
  for (const signer of signers) {
    const times: Date[] = [];
    const material: TrustMaterial = {
      ...signer.material,
      publicKey: () => ({
        publicKey: leafKey,
        validFor: (time: Date) => {
          times.push(time);
          return true;
        },
      }),
    };
    let leaf: CaLeaf;
    try {
      new Verifier(material, { tlogThreshold: signer.transparencyLog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(asKey);
      leaf = validateCaChain(chain, signer.ca, times.length > 0 ? times : [new Date()]);
    } catch (err) {
      firstFailure ??= explainMissingLogEntry(fromLibraryError(err), signer);
      continue;
    }
    validated = leaf;
    if (matchCa(signer, leaf) === undefined) {
      return {
        signer: signer.name,
        kind: 'ca',
        ca: signer.caName,
        subject: leaf.subject,
        identities: leaf.identities,
        ...(times.length === 0 ? { validUntil: leaf.validUntil.getTime() } : {}),
        roots: signer.roots,
        logged: signer.transparencyLog,
      };
    }
  }
  if (validated !== undefined) {
    const mismatches = signers.map((s) => matchCa(s, validated!));
    const only = signers.length === 1 ? mismatches[0] : undefined;
    throw new TrustloadError(ErrorCodes.UNTRUSTED_SIGNER, 'the bundle was signed by a certificate that no allowed signer accepts', {
      expected: only?.expected ?? signers.map(describeExpectedCaIdentity),
      found: only?.found ?? describeCaIdentity(validated),
    });
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
