import type { OnProgress } from '../manifest/hash-files.js';

// Smaller directories hash in well under a second: no line for them. A line is redrawn at most this often.
const SHOW_FROM_BYTES = 256 * 1024 * 1024;
const REDRAW_MS = 100;

/**
 * One line on a terminal's stderr while a large signed directory is hashed:
 * `\r`-redrawn, and erased at the end so the command's own output reads the
 * same with or without it. Undefined (no progress at all) when stderr is not
 * a terminal.
 */
export function progressLine(stderr: NodeJS.WriteStream, label: string, verb = 'verifying'): { update: OnProgress; end(): void } | undefined {
  if (!stderr.isTTY) return undefined;
  const started = Date.now();
  let drawnAt: number | undefined;
  return {
    update(done, total) {
      const now = Date.now();
      if (total < SHOW_FROM_BYTES || (drawnAt !== undefined && now - drawnAt < REDRAW_MS)) return;
      drawnAt = now;
      const percent = Math.min(100, Math.floor((done / total) * 100));
      const rate = done / (Math.max(1, now - started) / 1000);
      // The figures first: a narrow terminal cuts the folder's name, not them.
      const line = `${verb} ${percent}% (${mib(done)} of ${mib(total)} MiB, ${mib(rate)} MiB/s) ${label}`;
      stderr.write(`\r${line.slice(0, Math.max(20, (stderr.columns || 80) - 1))}\x1b[K`);
    },
    end() {
      if (drawnAt !== undefined) stderr.write('\r\x1b[K');
    },
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}
