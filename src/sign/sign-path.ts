import { realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { readArtifactFile } from '../io/read.js';
import { DEFAULT_MANIFEST_BUNDLE } from '../manifest/types.js';
import { describeDirectory } from '../manifest/describe-directory.js';
import { buildBundle, type SignedContent } from './build-bundle.js';
import { checkAgainstPolicy, type PolicyOutcome } from './check-policy.js';
import { signingDigest } from './key-signer.js';
import type { CheckedOptions } from './options.js';
import { packageFiles, wouldPublish } from './package-files.js';
import { fromSigningLibrary } from './service-errors.js';
import type { Signing } from './signer.js';
import { signingError } from './signing-error.js';
import { writeBundle } from './write-bundle.js';

export interface SignResult {
  /** What was signed (absolute). */
  path: string;
  /** The bundle written. */
  bundle: string;
  kind: 'file' | 'directory';
  /** A directory's listed files and their total size. */
  files?: number;
  bytes?: number;
  /** What the policy (options.policy) says of the signed path: verified, or no rule protects it. */
  policy?: PolicyOutcome;
}

/**
 * Signs one file or directory with a prepared signer: reads (or hashes)
 * everything first, signs, and only then writes the bundle, so a failure
 * anywhere leaves nothing behind and an older bundle as it was.
 */
export async function signPath(target: string, signing: Signing, options: CheckedOptions): Promise<SignResult> {
  const path = resolve(target);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (err) {
    throw signingError(`cannot sign ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message}`);
  }
  if (!isDirectory && (options.package === true || options.bundle !== undefined || options.method !== undefined || (options.ignore?.length ?? 0) > 0)) {
    throw signingError(`${path} is a file: --package, --bundle, --method, --shard-size and --ignore apply to directories`);
  }
  let content: SignedContent;
  let bundlePath: string;
  let listed: { files: number; bytes: number } | undefined;
  if (isDirectory) {
    const bundleName = options.bundle ?? DEFAULT_MANIFEST_BUNDLE;
    bundlePath = join(path, bundleName);
    const described = await describe(path, bundleName, options);
    content = { kind: 'dsse', statement: described.statement };
    listed = { files: described.files, bytes: described.bytes };
    if (signing.key !== undefined && signing.key.asymmetricKeyType !== 'ec') {
      options.onWarning?.(`trustload: note: model_signing verifies directory signatures by EC keys only; this ${signing.key.asymmetricKeyType} signature verifies with trustload`);
    }
  } else {
    bundlePath = `${path}.sigstore.json`;
    if (signing.key !== undefined && signing.witnesses.length > 0 && signingDigest(signing.key) !== 'sha256') {
      // @sigstore/sign logs message signatures as SHA-256 hashedrekord entries, which Rekor checks with the key.
      throw signingError(`--tlog-upload of ${path}: a file signed by a ${signing.key.asymmetricKeyDetails?.namedCurve ?? signing.key.asymmetricKeyType} key cannot be logged (Rekor's file entries take SHA-256 signatures): use a P-256 or RSA key, or no --tlog-upload`);
    }
    try {
      content = { kind: 'message', bytes: readArtifactFile(path) };
    } catch (err) {
      throw err instanceof TrustloadError ? signingError(err.message) : err;
    }
  }
  let text: string;
  try {
    text = await buildBundle(content, signing.signer, signing.witnesses, signing.messageDigest);
  } catch (err) {
    throw fromSigningLibrary(err, signing.services, options.timeoutMs, signing.secrets);
  }
  writeBundle(bundlePath, text);
  const result: SignResult = { path, bundle: bundlePath, kind: isDirectory ? 'directory' : 'file', ...listed };
  if (options.guard !== undefined) result.policy = await checkAgainstPolicy(options.guard, path, bundlePath, isDirectory);
  return result;
}

async function describe(dir: string, bundleName: string, options: CheckedOptions): Promise<{ statement: Buffer; files: number; bytes: number }> {
  let files: string[] | undefined;
  if (options.package === true) {
    if (!(await wouldPublish(dir, bundleName))) {
      throw signingError(`npm pack would not publish ${bundleName} from ${dir} (its package.json "files" or .npmignore leaves it out): add it, so what npm installs carries its signature`);
    }
    files = await packageFiles(dir);
  }
  try {
    return await describeDirectory(realpathSync(dir), {
      method: options.method ?? 'files',
      ...(options.shardSize === undefined ? {} : { shardSize: options.shardSize }),
      ignorePaths: options.ignore ?? [],
      bundleName,
      ...(files === undefined ? {} : { files }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  } catch (err) {
    if (err instanceof TrustloadError) throw err.code === ErrorCodes.SIGNING ? err : signingError(`cannot sign ${dir}: ${err.path === undefined ? '' : `${err.path}: `}${err.message}`);
    throw signingError(`cannot sign ${dir}: ${(err as Error).message}`);
  }
}
