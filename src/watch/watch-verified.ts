import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { hasDecisionSubscribers, publishDecision } from '../guard/events.js';
import type { VerifiedLoad } from '../guard/guard.js';
import { currentDigest } from './current-digest.js';

interface Watched {
  file: VerifiedLoad;
  /** Reported as changed, and not back to its verified bytes since: said once, not on every later write. */
  reported: boolean;
}

interface Folder {
  path: string;
  files: Map<string, Watched>;
  /** Undefined only while the first watch is being opened. */
  watcher: FSWatcher | undefined;
  /** Names to check when the events settle; undefined: every file of the folder. */
  pending: Set<string> | undefined;
  /** The folder itself was moved or deleted, or its watch broke: watch whatever is at its path now. */
  reopen: boolean;
  timer: NodeJS.Timeout | undefined;
}

// An editor's save or a package manager's replace is several events (truncate, write; write temp, rename): one check after they settle.
const SETTLE_MS = 50;

/**
 * Watches the folders of verified files (one fs.watch per folder, which never
 * keeps the process alive) and reports a file whose bytes no longer match
 * what was verified: a `changed` decision and one warning line. A folder is
 * watched rather than the file, so a file replaced by rename is still seen;
 * each event only schedules a check, and the check compares the file's
 * digest, never its times.
 */
export class VerifiedFileWatch {
  readonly #folders = new Map<string, Folder>();

  /** Starts watching `file` (its folder once); throws when the folder cannot be watched. */
  add(file: VerifiedLoad): void {
    const path = dirname(file.path);
    let folder = this.#folders.get(path);
    if (folder === undefined) {
      folder = { path, files: new Map(), pending: new Set(), reopen: false, timer: undefined, watcher: undefined };
      try {
        folder.watcher = this.#open(folder);
      } catch (err) {
        throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `the policy asks to watch verified files, and their folder ${path} cannot be watched: ${(err as Error).message}`, { cause: err });
      }
      this.#folders.set(path, folder);
    }
    // Loaded again after a change was reported: the newly verified bytes are the ones to keep.
    folder.files.set(basename(file.path), { file, reported: false });
  }

  #open(folder: Folder): FSWatcher {
    const watcher = watch(folder.path, { persistent: false }, (_event, name) => this.#schedule(folder, typeof name === 'string' ? name : undefined));
    watcher.on('error', () => this.#schedule(folder, undefined));
    return watcher;
  }

  /**
   * An event names a file of the folder, or none in particular: no name, or
   * the folder's own name (the folder was moved or deleted; the watch follows
   * the moved folder, not its path). Then every file is checked, and the path watched again.
   */
  #schedule(folder: Folder, name: string | undefined): void {
    if (name === undefined || name === basename(folder.path)) {
      folder.pending = undefined;
      folder.reopen = true;
    } else if (folder.files.has(name)) {
      folder.pending?.add(name);
    } else {
      return; // another file of the folder (an editor's temporary file): its rename onto a watched name is an event of its own
    }
    if (folder.timer !== undefined) clearTimeout(folder.timer);
    folder.timer = setTimeout(() => this.#settled(folder), SETTLE_MS).unref();
  }

  #settled(folder: Folder): void {
    const names = folder.pending;
    folder.pending = new Set();
    folder.timer = undefined;
    // Watched again before the check, so that nothing written in between goes unseen.
    if (folder.reopen) this.#reopen(folder);
    this.#check(folder, names);
  }

  #reopen(folder: Folder): void {
    folder.reopen = false;
    folder.watcher?.close();
    try {
      folder.watcher = this.#open(folder);
    } catch (err) {
      // Gone: its files are reported by the check that follows; a file verified there later starts a new watch.
      this.#folders.delete(folder.path);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') process.stderr.write(`trustload: WARNING: stopped watching ${folder.path}: ${(err as Error).message}\n`);
    }
  }

  #check(folder: Folder, names: Set<string> | undefined): void {
    for (const [name, watched] of folder.files) if (names === undefined || names.has(name)) this.#compare(watched);
  }

  #compare(watched: Watched): void {
    const start = now();
    const { path, rule, signer, digest: verified } = watched.file;
    const found = currentDigest(path);
    if (found.digest === verified) {
      watched.reported = false;
      return;
    }
    if (watched.reported) return;
    watched.reported = true;
    if (hasDecisionSubscribers()) {
      publishDecision({ path, rule, decision: 'changed', signer, ...(found.digest === undefined ? {} : { digest: found.digest }), ms: now() - start });
    }
    process.stderr.write(
      `trustload: WARNING: ${path}: rule "${rule}": changed after it was verified and loaded (${found.what}; verified sha256:${verified}); what this process already loaded stays loaded until it restarts\n`,
    );
  }
}

/** Milliseconds, from the monotonic clock (as the guard's decisions measure). */
function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
