import { ErrorCodes, TrustloadError } from '../errors.js';

/** One file a lock allows: its path relative to the policy folder, its digest, and its npm package when it has one. */
export interface LockEntry {
  path: string;
  sha256: string;
  package?: string;
  version?: string;
}

export const LOCK_VERSION = 1;
const SHA256 = /^[0-9a-f]{64}$/;
// A path the guard could never look up: empty, absolute, a "", "." or ".." segment, or a NUL (pathProblem says which).
const BAD_PATH = /(?:^|\/)\.{0,2}(?:\/|$)|\0/;

/**
 * Reads a lock file's text strictly: anything a lock could be misread by
 * (an entry without a SHA-256, a path listed twice, a path that leaves the
 * policy folder, a key it does not know) is an error naming the entry, never
 * skipped. `source` names the lock in messages. Returns the entries by path.
 */
export function parseLock(text: string, source: string): Map<string, LockEntry> {
  const fail = (problem: string): never => {
    throw new TrustloadError(ErrorCodes.POLICY, `lock ${source}: ${problem}`, { path: source });
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(`is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(data)) return fail('must be a JSON object with "version" and "entries"');
  for (const key of Object.keys(data)) if (key !== 'version' && key !== 'entries') fail(`unknown key "${key}"`);
  if (data.version !== LOCK_VERSION) fail(`"version" must be ${LOCK_VERSION}`);
  if (!Array.isArray(data.entries)) return fail('"entries" must be an array');
  // One plain loop of cheap tests per entry: a 5,000-entry lock is read at every start-up (bench: LOCK).
  const entries = new Map<string, LockEntry>();
  const list: unknown[] = data.entries;
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`entries[${i}] must be an object`);
    const { path, sha256, package: name, version } = entry as Record<string, unknown>;
    let keys = 0;
    for (const key in entry as object) {
      if (key !== 'path' && key !== 'sha256' && key !== 'package' && key !== 'version') fail(`entries[${i}]: unknown key "${key}"`);
      keys++;
    }
    if (typeof path !== 'string' || BAD_PATH.test(path)) fail(`entries[${i}].path ${JSON.stringify(path)} ${pathProblem(path) ?? 'must be a string'}`);
    if (typeof sha256 !== 'string' || !SHA256.test(sha256)) fail(`entries[${i}].sha256 (${String(path)}) must be a SHA-256: 64 lowercase hex digits`);
    if (entries.has(path as string)) fail(`entries[${i}]: ${String(path)} is listed twice`);
    if (keys !== 2 && (typeof name !== 'string' || name === '' || typeof version !== 'string' || version === '')) {
      fail(`entries[${i}] (${String(path)}) needs both "package" and "version", non-empty strings, or neither`);
    }
    // The parsed object itself, checked to hold exactly these keys: no copy of 5,000 entries.
    entries.set(path as string, entry as LockEntry);
  }
  return entries;
}

/**
 * A lock file's text: sorted by path, one entry a line, so that a change
 * reviews as a short diff. Keys in a fixed order.
 */
export function formatLock(entries: Iterable<LockEntry>): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const lines = sorted.map(({ path, sha256, package: name, version }) =>
    JSON.stringify(name === undefined ? { path, sha256 } : { path, sha256, package: name, version }),
  );
  return `{\n  "version": ${LOCK_VERSION},\n  "entries": [${lines.length === 0 ? '' : `\n    ${lines.join(',\n    ')}\n  `}]\n}\n`;
}

/**
 * Why `path` cannot name a file inside the policy folder, relative to it in
 * the form the guard looks entries up by (slashes, no `.` or `..`, no empty
 * segment), or undefined when it can.
 */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'must be a string';
  if (path === '') return 'is empty';
  if (path.startsWith('/')) return 'is absolute: entries are relative to the policy folder';
  if (path.includes('\0')) return 'contains a NUL character';
  for (const segment of path.split('/')) {
    if (segment === '..') return 'leaves the policy folder';
    if (segment === '' || segment === '.') return 'must be a plain relative path (no empty or "." segment)';
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
