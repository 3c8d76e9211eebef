import { frozenCopy } from './io/frozen.js';
import { NODE_EARLY_LOAD_VARIABLES } from './node-features.js';

const NAMES: readonly string[] = ['TRUSTLOAD_POLICY', 'TRUSTLOAD_POLICY_SHA256', 'TRUSTLOAD_MODE', 'TRUSTLOAD_AUDIT_PARENT', 'TRUSTLOAD_LOCK_LEARN', 'NODE_OPTIONS', 'NODE_PRESERVE_SYMLINKS', ...NODE_EARLY_LOAD_VARIABLES];

/**
 * The environment variables trustload decides by, read once when it is
 * loaded (before application code runs) and only as process.env's own
 * values: process.env inherits from Object.prototype, so an unset variable
 * would otherwise read as whatever a polluted prototype holds.
 */
export const environment: Readonly<Partial<Record<string, string>>> = frozenCopy(
  Object.fromEntries(NAMES.filter((name) => Object.hasOwn(process.env, name)).map((name) => [name, process.env[name]])),
);
