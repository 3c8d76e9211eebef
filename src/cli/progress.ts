import type { OnProgress } from '../manifest/hash-files.js';

// A check shorter than this shows nothing; a longer one is redrawn at most this often.
const SHOW_AFTER_MS = 500;
const REDRAW_MS = 100;

/**
 * One line on a terminal's stderr while a signed directory is hashed:
 * `\r`-redrawn, and erased at the end so the command's own output reads the
 * same with or without it. Undefined (no progress at all) when stderr is not
 * a terminal.
 */
export function progressLine(stderr: NodeJS.WriteStream, label: string): { update: OnProgress; end(): void } | undefined {
  if (!stderr.isTTY) return undefined;
  const started = Date.now();
  let drawnAt = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - started < SHOW_AFTER_MS || now - drawnAt < REDRAW_MS) return;
      drawnAt = now;
      const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
      const rate = done / ((now - started) / 1000);
      const line = `verifying ${label}: ${mib(done)} of ${mib(total)} MiB (${percent}%), ${mib(rate)} MiB/s`;
      stderr.write(`\r${line.slice(0, Math.max(20, (stderr.columns || 80) - 1))}\x1b[K`);
    },
    end() {
      if (drawnAt > 0) stderr.write('\r\x1b[K');
    },
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}
