import { realpathSync } from 'node:fs';
import { TrustloadError } from '../errors.js';
import type { Guard } from '../guard/guard.js';
import type { VerifiedSigner } from '../verify/signers.js';
import { signingError } from './signing-error.js';

export type PolicyOutcome = { decision: 'verified'; rule: string; signer: VerifiedSigner } | { decision: 'unmatched' };

/**
 * Judges what was just signed exactly as a guarded process would load it,
 * through the guard's one verification path: a file as a load, a directory
 * as verifyDirectory does. A refusal becomes a signing error that says the
 * bundle was written and what the policy wanted instead.
 */
export async function checkAgainstPolicy(guard: Guard, path: string, bundlePath: string, isDirectory: boolean): Promise<PolicyOutcome> {
  const real = realpathSync(path);
  try {
    if (!isDirectory) {
      const decision = guard.loadFile(real, [path], { announce: false });
      if (decision.decision !== 'verified') return { decision: 'unmatched' };
      return { decision: 'verified', rule: decision.rule!, signer: decision.signer! };
    }
    if (!guard.directories.holdsManifest(real)) {
      const rule = guard.rules.ruleFor(bundlePath);
      if (rule === undefined) return { decision: 'unmatched' };
      throw signingError(`rule "${rule.name}" covers ${path} but reads the manifest bundle ${rule.bundle ?? 'manifest.sigstore.json'}: sign with --bundle ${rule.bundle ?? 'manifest.sigstore.json'}`);
    }
    const manifest = await guard.directories.verifyAll(real);
    return { decision: 'verified', rule: manifest.rule, signer: manifest.signer };
  } catch (err) {
    const error = err instanceof TrustloadError ? err : signingError(String(err));
    throw new TrustloadError(error.code, `${bundlePath} was written, but the policy ${guard.loaded.file} refuses it: ${error.describe()}. Sign with a key or identity one of the rule's signers accepts, or change the policy`);
  }
}
