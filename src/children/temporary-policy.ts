import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';

/** The signals whose default action ends a process and that a process can catch. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type EndingSignal = (typeof SIGNALS)[number];

export interface TemporaryPolicy {
  file: string;
  /** Removes the file and its folder now (again: no effect). */
  remove(): void;
}

/**
 * A policy given to register() as an object, written to a private folder so
 * that children can be started with its path and digest like any policy file.
 */
export function writeTemporaryPolicy(contents: string): TemporaryPolicy {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'trustload-'));
  } catch (err) {
    throw new TrustloadError(ErrorCodes.POLICY, `cannot create a folder in ${tmpdir()} for the policy children run: ${(err as Error).message}`, { cause: err });
  }
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      process.stderr.write(`trustload: cannot remove the temporary policy folder ${dir}: ${(err as Error).message}\n`);
    }
  };
  const file = join(dir, 'policy.json');
  try {
    writeFileSync(file, contents, { mode: 0o600 });
  } catch (err) {
    remove();
    throw new TrustloadError(ErrorCodes.POLICY, `cannot write the policy children run to ${file}: ${(err as Error).message}`, { cause: err });
  }
  return { file, remove };
}

/**
 * Removes the temporary policy when the process ends: at exit, and on
 * SIGINT, SIGTERM and SIGHUP when nothing else listens to them. Then the
 * file is removed and the signal raised again with its default action, so
 * the process ends by that signal as it would have without trustload.
 *
 * A signal the host listens to is the host's: it decides whether the process
 * ends (and an exit removes the file). trustload's listener is therefore only
 * there while no other one is: it steps aside when the host adds one (on the
 * next tick: removed at once, it would leave Node's signal watcher stopped
 * under the host's listener) and comes back when the last one goes. Libraries
 * that re-raise a signal only when they are its sole listener (signal-exit)
 * thus still do, and the re-raised signal reaches this listener.
 */
export function removeWhenProcessEnds(policy: TemporaryPolicy): void {
  process.on('exit', policy.remove);
  const onSignal = new Map<EndingSignal, () => void>();
  // Set when a signal is ending the process: the listener is then not put back.
  let ending = false;
  const isOurs = (signal: EndingSignal, listener: unknown): boolean => onSignal.get(signal) === listener;
  const arm = (signal: EndingSignal): void => {
    if (ending || process.listeners(signal).some((listener) => isOurs(signal, listener))) return;
    process.on(signal, onSignal.get(signal)!);
  };
  for (const signal of SIGNALS) {
    onSignal.set(signal, function removeThenRaise(): void {
      ending = true;
      policy.remove();
      process.removeListener(signal, removeThenRaise);
      // No listener left: Node restores the default action, which ends the process.
      process.kill(process.pid, signal);
    });
  }
  process.on('newListener', (event: string | symbol, listener: unknown) => {
    const signal = SIGNALS.find((s) => s === event);
    if (signal === undefined || isOurs(signal, listener)) return;
    process.nextTick(() => {
      const ours = onSignal.get(signal)!;
      if (process.listenerCount(signal) > 1) process.removeListener(signal, ours);
    });
  });
  process.on('removeListener', (event: string | symbol) => {
    const signal = SIGNALS.find((s) => s === event);
    if (signal !== undefined && process.listenerCount(signal) === 0) arm(signal);
  });
  for (const signal of SIGNALS) if (process.listenerCount(signal) === 0) arm(signal);
}
