// Loaded lazily (see load-verifier.ts): the only guard module that pulls in the
// Sigstore libraries, so a process whose loads match no rule never pays for them.
import { createHash } from 'node:crypto';
import { parseBundle } from '../bundle/parse-bundle.js';
import type { Policy } from '../policy/schema.js';
import type { TrustFiles } from '../trust/read-trust.js';
import { resolveSigners } from '../trust/signers.js';
import { parseTrustedRoot, type NamedTrustedRoot } from '../trust/trusted-root.js';
import { VerificationCache } from '../verify/cache.js';
import type { SignerSpec, VerifiedSigner } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';

export interface RuleVerifier {
  /** Verifies artifact bytes against bundle bytes for the signers of one rule. */
  verify(artifact: Buffer, artifactSha256: string, bundle: Buffer, bundlePath: string, rule: string): VerifiedSigner;
  cacheHits(): number;
}

export function createRuleVerifier(policy: Policy, trust: TrustFiles): RuleVerifier {
  const roots = new Map<string, NamedTrustedRoot>();
  for (const [name, { source, bytes }] of trust.roots) roots.set(name, { name, root: parseTrustedRoot(bytes, source) });
  const signers = resolveSigners(policy.signers, { roots, keys: trust.keys });
  const ruleSigners = new Map<string, SignerSpec[]>(policy.rules.map((rule) => [rule.name, rule.signers.map((name) => signers.get(name)!)]));
  const cache = new VerificationCache();
  const bundleDigest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  return {
    verify(artifact, artifactSha256, bundle, bundlePath, rule) {
      const allowed = ruleSigners.get(rule) ?? [];
      return cache.verify(`${bundleDigest(bundle)}:${artifactSha256}`, allowed, () =>
        verifyBundle(parseBundle(bundle, bundlePath), { bytes: artifact }, allowed),
      );
    },
    cacheHits: () => cache.hits,
  };
}
