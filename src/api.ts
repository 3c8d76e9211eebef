import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCodes, TrustloadError } from './errors.js';
import { readArtifactFile } from './io/read.js';
import { readArtifactFileAsync } from './io/read-async.js';
import type { FileDecision, GuardStats } from './guard/guard.js';
import { verifiedReadStream } from './manifest/read-stream.js';
import { describeDirectory, type VerifiedDirectory } from './manifest/describe.js';
import { activeGuard } from './register.js';
import { optionProblem, type SignOptions } from './sign/options.js';
import type { SignResult } from './sign/sign-path.js';
import type { ToolDescriptor } from './tools/tool-list.js';

export type VerifyResult = Omit<FileDecision, 'bytes'>;

/**
 * Checks a file against the policy exactly as the loader would: the rule
 * that protects it, its bundle, its signer. Throws a TrustloadError on refusal.
 */
export function verifyFile(path: string): VerifyResult {
  const { bytes: _bytes, ...result } = decide(path);
  return result;
}

/**
 * The verified bytes of content read by path (prompts, tool descriptors,
 * weight manifests): the very bytes that were checked, never a second read.
 * A file no rule protects is read as is, unless the policy denies unmatched files.
 */
export function readVerifiedSync(path: string): Buffer {
  const decision = decide(path);
  return decision.bytes ?? readArtifactFile(decision.path);
}

/**
 * readVerifiedSync without blocking the event loop on the file: its real path
 * and bytes are read asynchronously, then those bytes are the ones verified
 * and returned. (Its bundle, kilobytes, is read synchronously while verifying.)
 */
export async function readVerified(path: string): Promise<Buffer> {
  const requested = resolve(path);
  let real: string;
  try {
    real = await realpath(requested);
  } catch (err) {
    throw missingFile(requested, err);
  }
  const bytes = await readArtifactFileAsync(real);
  const decision = activeGuard().loadFile(real, [requested], { announce: false, bytes });
  return decision.bytes ?? bytes;
}

/**
 * A file's verified bytes as a stream. Inside a signed directory each shard
 * is released only after its digest matched, so files larger than memory
 * can be read verified; elsewhere it streams what readVerified returns.
 */
export function createVerifiedReadStream(path: string): Readable {
  const requested = resolve(path);
  const covered = activeGuard().signedFile(realPathOf(requested), requested, { announce: false });
  return covered !== undefined ? verifiedReadStream(covered) : Readable.from([readVerifiedSync(path)], { objectMode: false });
}

/**
 * Verifies a signed directory as a whole: its manifest bundle for the signers
 * of the rule that covers it, that it holds exactly the files the manifest
 * lists, and every file's bytes (streamed, sharded where the manifest is).
 */
export type { VerifiedDirectory };

export async function verifyDirectory(dir: string): Promise<VerifiedDirectory> {
  let real: string;
  try {
    real = realpathSync.native(resolve(dir));
  } catch (err) {
    throw new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the directory: ${(err as Error).message}`, { path: resolve(dir), cause: err });
  }
  return describeDirectory(await activeGuard().directories.verifyAll(real));
}

export type { SignOptions, SignResult };

/**
 * Signs a file (FILE.sigstore.json, a message signature) or a directory (its
 * model-signing manifest bundle, DSSE) with a key or keylessly, as
 * `trustload sign` does. Throws a TypeError for unusable options, and a
 * TrustloadError (ERR_TRUSTLOAD_SIGNING, or the policy's refusal) when
 * signing fails; nothing is written then.
 */
export async function sign(path: string, options: SignOptions): Promise<SignResult> {
  const problem = optionProblem(options);
  if (problem !== undefined) throw new TypeError(problem);
  const { signAll } = await import('./sign/sign.js');
  const [result] = await signAll([path], options);
  return result!;
}

export type { ToolDescriptor };

/**
 * Compares the live tool list of MCP server `server` (the host's own name for
 * it, as in the policy's "tools"; never what the server calls itself) with
 * its signed baseline, and its tool names with the other servers' baselines
 * (after confusable folding). Call it on every tools/list answer, and again
 * after notifications/tools/list_changed. Resolves with the tools to use (the
 * baseline's own, in enforce mode); throws ERR_TRUSTLOAD_TOOL_CHANGED naming
 * each tool and field that differ (permissive mode: warns and resolves).
 */
export async function verifyToolDescriptors(server: string, tools: readonly ToolDescriptor[]): Promise<ToolDescriptor[]> {
  if (typeof server !== 'string') throw new TypeError('verifyToolDescriptors(server, tools): server is the name of the server in the policy\'s "tools"');
  const guard = activeGuard();
  const { verifyTools } = await import('./tools/verify-tools.js');
  return verifyTools(guard, server, tools, decide);
}

export function stats(): GuardStats {
  return activeGuard().stats();
}

function decide(path: string): FileDecision {
  const requested = resolve(path);
  return activeGuard().loadFile(realPathOf(requested), [requested], { announce: false });
}

function realPathOf(requested: string): string {
  try {
    return realpathSync.native(requested); // native: a third of the JS version's cost, same answer
  } catch (err) {
    throw missingFile(requested, err);
  }
}

function missingFile(requested: string, err: unknown): TrustloadError {
  return new TrustloadError(ErrorCodes.MISSING_FILE, `cannot read the file: ${(err as Error).message}`, { path: requested, cause: err });
}
