import module from 'node:module';

/**
 * Everything trustload knows about Node.js versions lives here; nothing else
 * compares version numbers.
 *
 * `module.registerHooks` (synchronous, in-thread hooks that see require, import
 * and the main entry) exists from 22.15 / 23.5, but require(esm) under those
 * hooks is broken up to 22.22.2, and 24.x needs 24.15 for the fixes trustload
 * relies on. Hence the supported lines: ^22.22.3 || ^24.15.0 || >=26.0.0.
 */
export const SUPPORTED_NODE_RANGE = '^22.22.3 || ^24.15.0 || >=26.0.0';

export function isSupportedNode(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  if (major === 22) return minor > 22 || (minor === 22 && patch >= 3);
  if (major === 24) return minor >= 15;
  return major >= 26;
}

export const hasRegisterHooks = typeof module.registerHooks === 'function';
