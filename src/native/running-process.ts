import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { elfIdentity, elfInterpreter, type ElfIdentity } from './elf.js';
import { withElfFile } from './elf-file.js';

/** What the dynamic linker of this process knows about it: read once, on the first native load. */
export interface RunningProcess {
  identity: ElfIdentity;
  /** Whose dynamic linker runs this process: musl's searches in another order than glibc's. */
  linker: 'glibc' | 'musl';
  executableDir: string;
  libraryPath: string | undefined;
}

let facts: RunningProcess | undefined;

export function runningProcess(): RunningProcess {
  if (facts !== undefined) return facts;
  const executable = realpathSync.native(process.execPath);
  const identity = withElfFile(executable, elfIdentity);
  if (identity === undefined) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the running executable ${executable} is not an ELF file: its libraries cannot be worked out`);
  }
  const interpreter = withElfFile(executable, (source) => elfInterpreter(source, executable)) ?? '';
  facts = { identity, linker: /\/ld-musl-/.test(interpreter) ? 'musl' : 'glibc', executableDir: dirname(executable), libraryPath: startupLibraryPath() };
  return facts;
}

/**
 * LD_LIBRARY_PATH as the linker read it when the process started: the
 * initial environment block, not process.env, which the application may
 * change without the linker ever seeing it. glibc takes the last one.
 */
function startupLibraryPath(): string | undefined {
  let environ: string;
  try {
    environ = readFileSync('/proc/self/environ', 'latin1');
  } catch (err) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot read this process's start-up environment: ${(err as Error).message}`, { cause: err });
  }
  let value: string | undefined;
  for (const entry of environ.split('\0')) if (entry.startsWith('LD_LIBRARY_PATH=')) value = entry.slice('LD_LIBRARY_PATH='.length);
  return value;
}
