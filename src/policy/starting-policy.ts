import type { Policy, PolicyKeylessSigner, PolicySigner, PolicyTrust } from './schema.js';

/** What `trustload policy init` puts into a starting policy: one rule, one signer, what it trusts. */
export interface StartingPolicy {
  files: string;
  signerName: string;
  signer: PolicySigner;
  trust: PolicyTrust;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * One rule for `files`, named after the glob's first folder (`plugins/**`
 * makes rule "plugins"), enforced, with no permissive mode, and every other
 * file loading as before (`unmatched: allow`): a start to tighten, not to
 * break the application on day one.
 */
export function startingPolicy({ files, signerName, signer, trust }: StartingPolicy): Policy {
  const first = files.replace(/^\.\//, '').split('/')[0] ?? '';
  const ruleName = NAME.test(first) && !first.includes('*') ? first : 'signed';
  return {
    version: 1,
    mode: 'enforce',
    allowPermissive: false,
    ...(Object.keys(trust).length > 0 ? { trust } : {}),
    signers: { [signerName]: signer },
    rules: [{ name: ruleName, files, signers: [signerName] }],
    unmatched: 'allow',
  };
}

/** A policy name made from a file name: `release-2026.pub.pem` names key "release-2026". */
export function nameFromFile(fileName: string, fallback: string): string {
  const stem = fileName.replace(/(\.pub)?\.pem$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return NAME.test(stem) ? stem : fallback;
}

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface GithubRelease {
  /** OWNER/REPO */
  repository: string;
  /** The workflow file's path in the repository, `.github/workflows/NAME.yml`. */
  workflow: string;
  /** GitHub's numeric ids of the repository and its owner. */
  repositoryId: string;
  ownerId: string;
}

/**
 * The keyless signer that accepts exactly one GitHub Actions workflow of one
 * repository, run on a pushed version tag (`refs/tags/v...`), and nothing
 * else. The numeric ids pin the repository and its owner: a name can be
 * taken again after a repository or account is deleted or renamed, an id
 * cannot. (An identity is the workflow's own URI: a reusable workflow called
 * from elsewhere has its caller's repository in the claims, not in it.)
 */
export function githubReleaseSigner({ repository, workflow, repositoryId, ownerId }: GithubRelease): PolicyKeylessSigner {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const owner = repository.split('/')[0]!;
  return {
    issuer: GITHUB_ISSUER,
    identityPattern: `^https://github\\.com/${escape(repository)}/${escape(workflow)}@refs/tags/v[0-9][0-9A-Za-z.+-]*$`,
    claims: {
      sourceRepositoryURI: `https://github.com/${repository}`,
      sourceRepositoryIdentifier: repositoryId,
      sourceRepositoryOwnerURI: `https://github.com/${owner}`,
      sourceRepositoryOwnerIdentifier: ownerId,
      buildTrigger: 'push',
    },
  };
}
