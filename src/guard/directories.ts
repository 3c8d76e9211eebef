import { SignedDirectories } from '../manifest/directories.js';
import type { Guard } from './guard.js';

const byGuard = new WeakMap<Guard, SignedDirectories>();

/** The signed directories of a guard's policy, each verified once for the guard's lifetime. */
export function signedDirectoriesFor(guard: Guard): SignedDirectories {
  let directories = byGuard.get(guard);
  if (directories === undefined) {
    directories = new SignedDirectories({
      baseDir: guard.loaded.baseDir,
      rules: guard.loaded.policy.rules,
      ruleFor: (path) => guard.rules.ruleFor(path),
      verifyManifest: (bundle, bundlePath, rule) => guard.verifyManifest(bundle, bundlePath, rule),
    });
    byGuard.set(guard, directories);
  }
  return directories;
}
