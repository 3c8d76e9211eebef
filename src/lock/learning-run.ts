import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { sha256Hex } from '../io/sha256.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { LEARN_VARIABLE } from './learner.js';

export interface LearningRun {
  /** The command's exit code (128 + the signal's number when a signal ended it). */
  exitCode: number;
  /**
   * Every file the run's guarded processes recorded, by real path, with the
   * digests recorded for it. Untrusted: any code the run ran could append to
   * the record file (recheckLoads checks each against the disk).
   */
  loads: Map<string, Set<string>>;
}

/**
 * Runs `command` under the guard in learning mode and returns what it
 * loaded. The guard runs the given policy (or, with none, one with no rule,
 * anchored at `baseDir`) in permissive mode, which the learning copy allows:
 * it refuses nothing and records every load no signer rule covers. Children
 * and workers inherit the variable through the guard's pinned environment and
 * append to the same record file.
 */
export async function learningRun(command: string, args: readonly string[], policy: LoadedPolicy | undefined, baseDir: string, registerPath: string): Promise<LearningRun> {
  const dir = mkdtempSync(join(tmpdir(), 'trustload-lock-'));
  try {
    const learning = policy === undefined ? { version: 1, signers: {}, rules: [], unmatched: 'allow' } : { ...policy.policy };
    const text = `${JSON.stringify({ ...learning, baseDir, mode: 'permissive', allowPermissive: true }, null, 2)}\n`;
    const policyFile = join(dir, 'learning.policy.json');
    const records = join(dir, 'loads.jsonl');
    writeFileSync(policyFile, text, { mode: 0o600 });
    writeFileSync(records, '', { mode: 0o600 });
    const importFlag = `--import "${registerPath.replace(/["\\]/g, '\\$&')}"`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('TRUSTLOAD_')) delete env[name];
    Object.assign(env, {
      TRUSTLOAD_POLICY: policyFile,
      TRUSTLOAD_POLICY_SHA256: sha256Hex(Buffer.from(text)),
      TRUSTLOAD_MODE: 'permissive',
      [LEARN_VARIABLE]: records,
      NODE_OPTIONS: process.env.NODE_OPTIONS ? `${importFlag} ${process.env.NODE_OPTIONS}` : importFlag,
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(command, [...args], { stdio: 'inherit', env });
      child.on('error', (err) => reject(new TrustloadError(ErrorCodes.POLICY, `cannot run ${command}: ${err.message}`, { cause: err })));
      child.on('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    return { exitCode, loads: readRecords(readFileSync(records, 'utf8'), records) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readRecords(text: string, source: string): Map<string, Set<string>> {
  const loads = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new TrustloadError(ErrorCodes.POLICY, `learning run: ${source} holds a line that is not a record: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(record) || typeof record[0] !== 'string' || typeof record[1] !== 'string') {
      throw new TrustloadError(ErrorCodes.POLICY, `learning run: ${source} holds a line that is not a record`);
    }
    const digests = loads.get(record[0]) ?? new Set<string>();
    loads.set(record[0], digests.add(record[1]));
  }
  return loads;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const { constants } = process.getBuiltinModule('node:os') as typeof import('node:os');
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
