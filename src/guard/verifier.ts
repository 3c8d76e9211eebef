// Loaded lazily (see load-verifier.ts): the only guard module that pulls in the
// Sigstore libraries, so a process whose loads match no rule never pays for them.
import { createHash } from 'node:crypto';
import { parseBundle } from '../bundle/parse-bundle.js';
import { TrustloadError, withContext } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { parseCaPem } from '../trust/cas.js';
import { parsePublicKeyPem } from '../trust/keys.js';
import type { TrustFiles } from '../trust/read-trust.js';
import { resolveSigners } from '../trust/signers.js';
import { parseTrustedRoot, type NamedTrustedRoot } from '../trust/trusted-root.js';
import { SignedDirectories, type ManifestPolicy } from '../manifest/directories.js';
import { verifyManifestBundle } from '../manifest/verify-manifest.js';
import type { ManifestContent } from '../manifest/types.js';
import { VerificationCache } from '../verify/cache.js';
import type { SignerSpec, VerifiedSigner } from '../verify/signers.js';
import { verifyBundle } from '../verify/verify-bundle.js';

export interface RuleVerifier {
  /** Verifies artifact bytes against bundle bytes for the signers of one rule; errors carry the artifact's digest. */
  verify(artifact: Buffer, bundle: Buffer, bundlePath: string, rule: string): { signer: VerifiedSigner; digest: string };
  /** Verifies a directory's manifest bundle for the signers of one rule and returns the resources it signs. */
  verifyManifest(bundle: Buffer, bundlePath: string, rule: string): { content: ManifestContent; signer: VerifiedSigner };
  /** The signer of a manifest bundle verified earlier, as one of `rule`'s signers accepts it (verified again for them when the cache cannot say). */
  manifestSigner(bundle: Buffer, bundlePath: string, rule: string): VerifiedSigner;
  /** Verifies a lock's bytes against its sibling bundle for the signers trust.locks.`lock`.signers names. */
  verifyLock(lock: Buffer, bundle: Buffer, bundlePath: string, name: string): void;
  cacheHits(): number;
}

export function createRuleVerifier(policy: Policy, trust: TrustFiles): RuleVerifier {
  const roots = new Map<string, NamedTrustedRoot>();
  for (const [name, { source, bytes }] of trust.roots) roots.set(name, { name, root: parseTrustedRoot(bytes, source) });
  const keys = new Map([...trust.keys].map(([name, { source, bytes }]) => [name, parsePublicKeyPem(bytes.toString('utf8'), source)]));
  const cas = new Map([...trust.cas].map(([name, { source, bytes }]) => [name, parseCaPem(name, bytes.toString('utf8'), source)]));
  const signers = resolveSigners(policy.signers, { roots, keys, cas });
  const ruleSigners = new Map<string, SignerSpec[]>(policy.rules.map((rule) => [rule.name, (rule.signers ?? []).map((name) => signers.get(name)!)]));
  const cache = new VerificationCache();
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  // A manifest bundle is kept (as verified) for the process: hashed once, not on every load under its directory.
  const manifestKeys = new WeakMap<Buffer, string>();
  const manifestKey = (bundle: Buffer) => {
    let key = manifestKeys.get(bundle);
    if (key === undefined) manifestKeys.set(bundle, (key = `manifest:${sha256(bundle)}`));
    return key;
  };

  return {
    verify(artifact, bundle, bundlePath, rule) {
      const allowed = ruleSigners.get(rule) ?? [];
      const digest = sha256(artifact);
      try {
        const signer = cache.verify(`${sha256(bundle)}:${digest}`, allowed, () =>
          verifyBundle(parseBundle(bundle, bundlePath), { bytes: artifact }, allowed),
        );
        return { signer, digest };
      } catch (err) {
        throw err instanceof TrustloadError ? withContext(err, { digest }) : err;
      }
    },
    verifyManifest(bundle, bundlePath, rule) {
      const allowed = ruleSigners.get(rule) ?? [];
      const verified = verifyManifestBundle(bundle, bundlePath, allowed);
      cache.verify(manifestKey(bundle), allowed, () => verified.signer);
      return verified;
    },
    manifestSigner(bundle, bundlePath, rule) {
      const allowed = ruleSigners.get(rule) ?? [];
      return cache.verify(manifestKey(bundle), allowed, () => verifyManifestBundle(bundle, bundlePath, allowed).signer);
    },
    verifyLock(lock, bundle, bundlePath, name) {
      const ref = policy.trust?.locks?.[name];
      const allowed = ref !== undefined && 'signers' in ref ? ref.signers.map((signer) => signers.get(signer)!) : [];
      verifyBundle(parseBundle(bundle, bundlePath), { bytes: lock }, allowed);
    },
    cacheHits: () => cache.hits,
  };
}

/** A policy's signed directories (see SignedDirectories); built here, in the lazily loaded module, because checking them hashes. */
export function createSignedDirectories(policy: ManifestPolicy): SignedDirectories {
  return new SignedDirectories(policy);
}
