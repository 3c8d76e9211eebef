import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Bundle, MessageSignature } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { HashAlgorithm, type Envelope } from '@sigstore/protobuf-specs';
import type { SignedEntity } from '@sigstore/verify';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { hashBytes, type Artifact } from './artifact.js';
import { verifyPrehashed } from './prehash.js';
import { IN_TOTO_PAYLOAD_TYPE, requireSubject, statementSubjects } from './statement.js';

type SignatureContent = SignedEntity['signature'];

const MESSAGE_DIGEST_ALGORITHMS: Partial<Record<HashAlgorithm, string>> = {
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/**
 * Builds what @sigstore/verify checks the signature and log entries against,
 * after binding the bundle to the artifact: the library compares log entries
 * with the bundle's own (unauthenticated) message digest and never with the
 * file, and never looks inside a DSSE statement.
 */
export function signatureContent(bundle: Bundle, artifact: Artifact): SignatureContent {
  switch (bundle.content.$case) {
    case 'messageSignature':
      return messageContent(bundle.content.messageSignature, artifact);
    case 'dsseEnvelope':
      return dsseContent(bundle.content.dsseEnvelope, artifact);
  }
}

function messageContent(message: MessageSignature, artifact: Artifact): SignatureContent {
  const algorithm = MESSAGE_DIGEST_ALGORITHMS[message.messageDigest.algorithm];
  if (algorithm === undefined) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `unsupported message digest algorithm ${HashAlgorithm[message.messageDigest.algorithm]}`);
  }
  const signedDigest = Buffer.from(message.messageDigest.digest);
  let actual: Buffer;
  if ('bytes' in artifact) {
    actual = hashBytes(algorithm, artifact.bytes);
  } else if (algorithm === 'sha256') {
    actual = artifact.sha256;
  } else {
    throw new TrustloadError(ErrorCodes.SIGNATURE, `the bundle signs a ${algorithm} digest; pass the file, not its sha256`);
  }
  if (!actual.equals(signedDigest)) {
    throw new TrustloadError(ErrorCodes.SIGNATURE, 'the bundle signs different content (message digest mismatch)', {
      expected: `${algorithm}:${signedDigest.toString('hex')}`,
      found: `${algorithm}:${actual.toString('hex')}`,
    });
  }
  const signature = Buffer.from(message.signature);
  return {
    signature,
    compareSignature: (other) => signature.equals(other),
    compareDigest: (digest) => signedDigest.equals(digest),
    compareSignedDigest: (digest) => signedDigest.equals(digest),
    verifySignature: rememberLast((key) =>
      'bytes' in artifact
        ? verifyOrFalse(messageDigestFor(key, algorithm), artifact.bytes, key, signature)
        : verifyPrehashed(key, artifact.sha256, signature),
    ),
  };
}

function dsseContent(envelope: Envelope, artifact: Artifact): SignatureContent {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `DSSE payloadType ${JSON.stringify(envelope.payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const payload = Buffer.from(envelope.payload);
  requireSubject(statementSubjects(payload), artifact);
  const signature = Buffer.from(envelope.signatures[0]!.sig);
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  const payloadDigest = hashBytes('sha256', payload);
  const paeDigest = hashBytes('sha256', pae);
  return {
    signature,
    compareSignature: (other) => signature.equals(other),
    compareDigest: (digest) => payloadDigest.equals(digest),
    compareSignedDigest: (digest) => paeDigest.equals(digest),
    // The library verifies DSSE with the key's default digest, which rejects valid P-384/SHA-384 envelopes.
    verifySignature: rememberLast((key) => verifyOrFalse(dsseDigestFor(key), pae, key, signature)),
  };
}

/** A message signature is over the declared message digest; Ed25519 signs the message itself. */
function messageDigestFor(key: KeyObject, messageAlgorithm: string): string | null {
  return key.asymmetricKeyType === 'ed25519' ? null : messageAlgorithm;
}

/** DSSE declares no digest, so the key decides: ECDSA's follows its curve, Ed25519 takes none. */
function dsseDigestFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return 'sha384';
  if (curve === 'secp521r1') return 'sha512';
  return 'sha256';
}

/**
 * trustload checks the signature before handing the entity to the library (so
 * that a bad signature is reported as one, not as a log mismatch); the
 * library then checks it again with an equal key. Remembering the last answer
 * keeps that second check free.
 */
function rememberLast(check: (key: KeyObject) => boolean): (key: KeyObject) => boolean {
  let lastKey: KeyObject | undefined;
  let lastResult = false;
  return (key) => {
    if (lastKey === undefined || !lastKey.equals(key)) {
      lastResult = check(key);
      lastKey = key;
    }
    return lastResult;
  };
}

function verifyOrFalse(algorithm: string | null, data: Uint8Array, key: KeyObject, signature: Buffer): boolean {
  try {
    return cryptoVerify(algorithm, data, key, signature);
  } catch {
    return false; // a key/signature pair node:crypto cannot even evaluate does not verify
  }
}
