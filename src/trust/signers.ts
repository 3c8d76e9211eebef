import type { KeyObject } from 'node:crypto';
import type { TrustMaterial } from '@sigstore/verify';
import { ErrorCodes, TrustloadError } from '../errors.js';
import type { PolicyCaSigner, PolicyKeylessSigner, PolicyKeySigner, PolicySigner } from '../policy/schema.js';
import type { TrustedCa } from '../verify/ca-chain.js';
import { compileIdentityPattern, type SignerSpec } from '../verify/signers.js';
import { buildTrustMaterial } from './material.js';
import { PUBLIC_GOOD_ROOT as PUBLIC_GOOD } from '../policy/public-good-name.js';
import { publicGoodRoot } from './public-good.js';
import type { NamedTrustedRoot } from './trusted-root.js';

/** The trust material a policy (or a command line) names, already read and digest-checked. */
export interface LoadedTrust {
  roots: ReadonlyMap<string, NamedTrustedRoot>;
  keys: ReadonlyMap<string, KeyObject>;
  cas: ReadonlyMap<string, TrustedCa>;
}

const DEFAULT_ROOTS = [PUBLIC_GOOD];

/**
 * Resolves policy signers into what the verifier takes. Signers naming the
 * same roots get the same TrustMaterial object, so a bundle is checked once
 * per distinct set of roots, not once per signer.
 */
export function resolveSigners(signers: Readonly<Record<string, PolicySigner>>, trust: LoadedTrust): Map<string, SignerSpec> {
  const materials = new Map<string, TrustMaterial>();
  const rootsFor = (signer: string, names: readonly string[]): NamedTrustedRoot[] =>
    names.map((name) => {
      if (name === PUBLIC_GOOD) return publicGoodRoot();
      const root = trust.roots.get(name);
      if (root === undefined) throw policyError(`signers.${signer}.roots`, `names unknown trusted root "${name}"`);
      return root;
    });
  const materialFor = (signer: string, names: readonly string[]): TrustMaterial => {
    const id = [...new Set(names)].sort().join('\n');
    let material = materials.get(id);
    if (material === undefined) {
      material = buildTrustMaterial(rootsFor(signer, names));
      materials.set(id, material);
    }
    return material;
  };

  const resolved = new Map<string, SignerSpec>();
  for (const [name, signer] of Object.entries(signers)) {
    if ('ca' in signer) {
      // A CA signer's roots only vouch for log entries and timestamps: none unless named.
      resolved.set(name, caSigner(name, signer, trust, materialFor(name, signer.roots ?? [])));
      continue;
    }
    const roots = signer.roots ?? DEFAULT_ROOTS;
    resolved.set(
      name,
      'key' in signer
        ? keySigner(name, signer, roots, trust, rootsFor)
        : keylessSigner(name, signer, roots, materialFor(name, roots)),
    );
  }
  return resolved;
}

function keylessSigner(name: string, signer: PolicyKeylessSigner, roots: string[], material: TrustMaterial): SignerSpec {
  return {
    kind: 'keyless',
    name,
    roots,
    material,
    issuer: { exact: signer.issuer },
    identity: signer.identity !== undefined ? { exact: signer.identity } : { pattern: compileIdentityPattern(signer.identityPattern!) },
    claims: signer.claims ?? {},
  };
}

function keySigner(
  name: string,
  signer: PolicyKeySigner,
  roots: string[],
  trust: LoadedTrust,
  rootsFor: (signer: string, names: readonly string[]) => NamedTrustedRoot[],
): SignerSpec {
  const key = trust.keys.get(signer.key);
  if (key === undefined) throw policyError(`signers.${name}.key`, `names unknown key "${signer.key}"`);
  return {
    kind: 'key',
    name,
    roots,
    keyName: signer.key,
    key,
    transparencyLog: signer.transparencyLog ?? true,
    material: buildTrustMaterial(rootsFor(name, roots), key),
  };
}

function caSigner(name: string, signer: PolicyCaSigner, trust: LoadedTrust, material: TrustMaterial): SignerSpec {
  const ca = trust.cas.get(signer.ca);
  if (ca === undefined) throw policyError(`signers.${name}.ca`, `names unknown CA "${signer.ca}"`);
  const matcher = (exact: string | undefined, pattern: string | undefined) =>
    exact !== undefined ? { exact } : pattern !== undefined ? { pattern: compileIdentityPattern(pattern) } : undefined;
  return {
    kind: 'ca',
    name,
    roots: signer.roots ?? [],
    material,
    caName: signer.ca,
    ca,
    subject: matcher(signer.subject, signer.subjectPattern),
    identity: matcher(signer.identity, signer.identityPattern),
    transparencyLog: signer.transparencyLog ?? true,
  };
}

function policyError(field: string, problem: string): TrustloadError {
  return new TrustloadError(ErrorCodes.POLICY, `${field}: ${problem}`);
}
