import { join } from 'node:path';
import { readFileLimited } from '../io/read.js';
import { ErrorCodes } from '../errors.js';

/** An npm package a file belongs to: its folder (relative to the policy folder), name and version. */
export interface NpmPackage {
  dir: string;
  name: string;
  version: string;
}

/**
 * The folder of the npm package holding `rel` (a path relative to the
 * policy folder): the innermost `node_modules/NAME` or
 * `node_modules/@SCOPE/NAME` on it. Undefined for the application's own files.
 */
export function packageDirOf(rel: string): string | undefined {
  const segments = rel.split('/');
  const at = segments.lastIndexOf('node_modules', segments.length - 2);
  if (at === -1) return undefined;
  const scoped = segments[at + 1]!.startsWith('@');
  const end = at + (scoped ? 3 : 2);
  // A file directly in node_modules (or in a scope's folder) belongs to no package.
  return end < segments.length ? segments.slice(0, end).join('/') : undefined;
}

/**
 * The package holding `rel`, with name and version from its package.json
 * (what npm installed), or undefined when there is none or it does not say.
 * Names only: nothing is trusted from it.
 */
export function packageOf(baseDir: string, rel: string, cache?: Map<string, NpmPackage | undefined>): NpmPackage | undefined {
  const dir = packageDirOf(rel);
  if (dir === undefined) return undefined;
  if (cache?.has(dir)) return cache.get(dir);
  let found: NpmPackage | undefined;
  try {
    const pkg = JSON.parse(readFileLimited(join(baseDir, dir, 'package.json'), 1024 * 1024, 'package.json', ErrorCodes.UNSUPPORTED_LOAD).toString('utf8')) as unknown;
    const { name, version } = (typeof pkg === 'object' && pkg !== null ? pkg : {}) as { name?: unknown; version?: unknown };
    if (typeof name === 'string' && name !== '' && typeof version === 'string' && version !== '') found = { dir, name, version };
  } catch {
    // No readable package.json: the file is named by its path alone.
    found = undefined;
  }
  cache?.set(dir, found);
  return found;
}

/** "ms 2.1.3" */
export function packageLabel(pkg: { name: string; version: string }): string {
  return `${pkg.name} ${pkg.version}`;
}
