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
const ENTRY_KEYS = new Set(['path', 'sha256', 'package', 'version']);

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
  const entries = new Map<string, LockEntry>();
  data.entries.forEach((entry: unknown, i: number) => {
    const at = `entries[${i}]`;
    if (!isObject(entry)) return fail(`${at} must be an object`);
    for (const key of Object.keys(entry)) if (!ENTRY_KEYS.has(key)) fail(`${at}: unknown key "${key}"`);
    const { path, sha256 } = entry;
    if (typeof path !== 'string') return fail(`${at}.path must be a string`);
    const problem = pathProblem(path);
    if (problem !== undefined) fail(`${at}.path ${JSON.stringify(path)} ${problem}`);
    if (typeof sha256 !== 'string' || !SHA256.test(sha256)) fail(`${at}.sha256 (${path}) must be a SHA-256: 64 lowercase hex digits`);
    if ((entry.package === undefined) !== (entry.version === undefined)) fail(`${at} (${path}) needs both "package" and "version", or neither`);
    for (const key of ['package', 'version'] as const) {
      if (entry[key] !== undefined && (typeof entry[key] !== 'string' || entry[key] === '')) fail(`${at}.${key} (${path}) must be a non-empty string`);
    }
    if (entries.has(path)) fail(`${at}: ${path} is listed twice`);
    const kept: LockEntry = { path, sha256: sha256 as string };
    if (entry.package !== undefined) Object.assign(kept, { package: entry.package, version: entry.version });
    entries.set(path, kept);
  });
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
export function pathProblem(path: string): string | undefined {
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
