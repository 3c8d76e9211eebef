import { createHash } from 'node:crypto';
import { BUNDLE_V03_MEDIA_TYPE, bundleToJSON, type Bundle, type BundleWithMessageSignature } from '@sigstore/bundle';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Artifact, type Signature, type Signer, type Witness } from '@sigstore/sign';
import { IN_TOTO_PAYLOAD_TYPE } from '../verify/statement.js';

export type SignedContent = { kind: 'message'; bytes: Buffer } | { kind: 'dsse'; statement: Buffer };

/**
 * @sigstore/sign always records a SHA-256 message digest; a P-384 key signs
 * SHA-384 (see key-signer.ts), and verifiers hash the file with the
 * algorithm the bundle names, so the digest must say SHA-384. Set before the
 * witnesses see the bundle, so a log entry records the same digest.
 */
class MessageBundleBuilder extends MessageSignatureBundleBuilder {
  readonly #digest: 'sha256' | 'sha384';
  constructor(signer: Signer, witnesses: Witness[], digest: 'sha256' | 'sha384') {
    super({ signer, witnesses });
    this.#digest = digest;
  }
  protected override async package(artifact: Artifact, signature: Signature): Promise<BundleWithMessageSignature> {
    const bundle = await super.package(artifact, signature);
    if (this.#digest === 'sha384') {
      bundle.content.messageSignature.messageDigest = { algorithm: HashAlgorithm.SHA2_384, digest: createHash('sha384').update(artifact.data).digest() };
    }
    return bundle;
  }
}

/**
 * Signs and has the witnesses testify, then returns the v0.3 bundle as
 * JSON text: a message signature for a file, a DSSE in-toto statement for a
 * directory's manifest.
 */
export async function buildBundle(content: SignedContent, signer: Signer, witnesses: Witness[], messageDigest: 'sha256' | 'sha384'): Promise<string> {
  const bundle: Bundle =
    content.kind === 'message'
      ? toV03(await new MessageBundleBuilder(signer, witnesses, messageDigest).create({ data: content.bytes }))
      : await new DSSEBundleBuilder({ signer, witnesses, certificateChain: false }).create({ data: content.statement, type: IN_TOTO_PAYLOAD_TYPE });
  const json = bundleToJSON(bundle);
  // What cosign writes when nothing was logged or timestamped: an explicit empty log list, no timestamp field.
  json.verificationMaterial.tlogEntries ??= [];
  if ((json.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).length === 0) delete json.verificationMaterial.timestampVerificationData;
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * The message builder writes v0.2 (a leaf-only certificate chain); v0.3 is
 * current and carries that leaf as `certificate`.
 */
function toV03(bundle: BundleWithMessageSignature): Bundle {
  const material = bundle.verificationMaterial;
  if (material.content.$case === 'x509CertificateChain') {
    const [leaf] = material.content.x509CertificateChain.certificates;
    material.content = { $case: 'certificate', certificate: leaf! };
  }
  bundle.mediaType = BUNDLE_V03_MEDIA_TYPE;
  return bundle;
}
