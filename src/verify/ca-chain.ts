import { ErrorCodes, TrustloadError } from '../errors.js';
import {
  basicConstraints,
  extendedKeyUsages,
  identities,
  isSelfSigned,
  keyUsage,
  OID_CODE_SIGNING,
  unknownCriticalExtensions,
  validAt,
  type Certificate,
} from './x509.js';

/** A private certificate authority from `trust.cas`: its one root, and the intermediates pinned beside it. */
export interface TrustedCa {
  name: string;
  root: Certificate;
  intermediates: Certificate[];
}

/** What a validated leaf says about its holder. */
export interface CaLeaf {
  subject: string;
  identities: string[];
  /** The earliest end of validity along the path: past it, a chain checked at "now" no longer holds. */
  validUntil: Date;
}

// A chain longer than any real PKI's, and a bound on the signature checks a hostile bundle can make us run.
const MAX_PATH_LENGTH = 6;
const MAX_ISSUER_CHECKS = 64;

// Hash algorithms a CA may still sign with; SHA-1 and MD5 certificates can be forged by collision.
const SIGNATURE_ALGORITHMS = new Set([
  '1.2.840.113549.1.1.11', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.2', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4', // ecdsa-with-SHA512
  '1.3.101.112', // Ed25519
]);

/**
 * Validates a bundle's certificate chain (leaf first) against one private CA
 * at every time in `times`, with node:crypto doing every signature check.
 * The bundle's other certificates only help build the path: each must be
 * signed by the next one up, the last by the pinned root. A root in the
 * bundle is accepted only when it is byte-identical to the pinned root.
 */
export function validateCaChain(chain: readonly Certificate[], ca: TrustedCa, times: readonly Date[]): CaLeaf {
  const [leaf, ...carried] = chain;
  if (leaf === undefined) throw certificateError('the bundle carries no certificate');
  if (isSelfSigned(leaf)) throw certificateError(`the signing certificate (${leaf.subject}) is self-signed: a root never signs artifacts`);
  const candidates: Certificate[] = [];
  for (const cert of carried) {
    if (!isSelfSigned(cert)) candidates.push(cert);
    else if (!cert.der.equals(ca.root.der)) {
      throw certificateError(`the bundle's certificate chain includes a root certificate (${cert.subject}) that is not the pinned root of CA "${ca.name}"`);
    }
  }
  checkLeaf(leaf, times);
  const path = new PathBuilder(ca, [...candidates, ...ca.intermediates], times).build(leaf);
  return {
    subject: leaf.subject,
    identities: identities(leaf),
    validUntil: new Date(Math.min(...[leaf, ...path].map((c) => c.node.validToDate.getTime()))),
  };
}

function checkLeaf(leaf: Certificate, times: readonly Date[]): void {
  const problem = commonProblem(leaf, times);
  if (problem) throw certificateError(`the signing certificate (${leaf.subject}) ${problem}`);
  const usages = extendedKeyUsages(leaf);
  if (!usages?.includes(OID_CODE_SIGNING)) {
    throw certificateError(`the signing certificate (${leaf.subject}) is not for code signing`, {
      expected: `extended key usage codeSigning (${OID_CODE_SIGNING})`,
      found: usages === undefined ? 'no extended key usage' : `extended key usage ${usages.join(', ') || '(empty)'}`,
    });
  }
  const usage = keyUsage(leaf);
  if (usage !== undefined && !usage.digitalSignature) {
    throw certificateError(`the signing certificate (${leaf.subject}) has a key usage without digitalSignature`);
  }
}

/** What makes any certificate in the path unusable, whatever its place. */
function commonProblem(cert: Certificate, times: readonly Date[]): string | undefined {
  const outside = times.find((time) => !validAt(cert, time));
  if (outside !== undefined) {
    return `is not valid at ${outside.toISOString()} (valid from ${cert.node.validFromDate.toISOString()} to ${cert.node.validToDate.toISOString()})`;
  }
  const critical = unknownCriticalExtensions(cert);
  if (critical.length > 0) return `has critical extension(s) ${critical.join(', ')} that trustload does not enforce`;
  if (!SIGNATURE_ALGORITHMS.has(cert.signatureAlgorithmOid)) {
    return `is signed with algorithm ${cert.signatureAlgorithmOid}, which is not accepted`;
  }
  return undefined;
}

/** What keeps `issuer` from issuing a certificate with `below` intermediates under it. */
function issuerProblem(issuer: Certificate, times: readonly Date[], below: number): string | undefined {
  const common = commonProblem(issuer, times);
  if (common) return common;
  const constraints = basicConstraints(issuer);
  if (!constraints.ca) return 'is not a CA certificate (basic constraints CA:FALSE or absent)';
  if (keyUsage(issuer)?.keyCertSign === false) return 'has a key usage without keyCertSign';
  if (constraints.pathLength !== undefined && BigInt(below) > constraints.pathLength) {
    return `allows ${constraints.pathLength} intermediate(s) below it (path length constraint), the chain has ${below}`;
  }
  return undefined;
}

/**
 * Depth-first search from the leaf up to the pinned root, over certificates
 * whose signature verifies with the next one's key. The first reason an
 * issuer was turned down is kept, so that a refusal says why, not only that
 * no path was found.
 */
class PathBuilder {
  #checks = 0;
  #firstProblem: string | undefined;

  constructor(
    private readonly ca: TrustedCa,
    private readonly candidates: readonly Certificate[],
    private readonly times: readonly Date[],
  ) {}

  build(leaf: Certificate): Certificate[] {
    const path = this.#extend(leaf, [], 0);
    if (path !== undefined) return path;
    if (this.#firstProblem !== undefined) throw certificateError(this.#firstProblem);
    throw certificateError(`the signing certificate (${leaf.subject}) does not chain to CA "${this.ca.name}"`, {
      expected: `a certificate issued under ${this.ca.root.subject}`,
      found: `issuer ${leaf.issuer}`,
    });
  }

  /** The issuers above `cert`, up to and including the root; `below` counts the intermediates under `cert`'s issuer. */
  #extend(cert: Certificate, used: readonly Certificate[], below: number): Certificate[] | undefined {
    for (const issuer of [this.ca.root, ...this.candidates]) {
      if (issuer === cert || used.includes(issuer)) continue;
      const isRoot = issuer === this.ca.root;
      if (!isRoot && used.length + 1 >= MAX_PATH_LENGTH) continue;
      if (cert.issuer !== issuer.subject || !this.#signedBy(cert, issuer)) continue;
      // The signature is genuine: from here on, a refusal names what this issuer may not do.
      const problem =
        issuerProblem(issuer, this.times, below) ??
        // OpenSSL's own issuer test (key identifiers, key usage) as the last word.
        (cert.node.checkIssued(issuer.node) ? undefined : 'does not match its key identifiers or may not sign certificates');
      if (problem !== undefined) {
        this.#firstProblem ??= `certificate ${issuer.subject}, which issued ${cert.subject}, ${problem}`;
        continue;
      }
      if (isRoot) return [issuer];
      const rest = this.#extend(issuer, [...used, issuer], below + 1);
      if (rest !== undefined) return [issuer, ...rest];
    }
    return undefined;
  }

  #signedBy(cert: Certificate, issuer: Certificate): boolean {
    if (++this.#checks > MAX_ISSUER_CHECKS) throw certificateError('the certificate chain is too tangled to build a path through');
    return cert.node.verify(issuer.node.publicKey);
  }
}

function certificateError(message: string, mismatch: { expected?: string; found?: string } = {}): TrustloadError {
  return new TrustloadError(ErrorCodes.CERTIFICATE, message, mismatch);
}
