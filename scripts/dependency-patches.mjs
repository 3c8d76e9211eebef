// Small fixes to bundled dependencies, applied to their source as esbuild
// reads it (scripts/build.mjs); each is written up as the upstream change in
// patches/README.md. A patch that no longer applies to the installed version
// stops the build (and test/dependency-patches.test.mjs): drop it if upstream
// fixed the problem, or port it.

export const PATCHES = [
  {
    name: '@sigstore/core: X509Certificate.equals encodes each certificate once',
    // Matched against the resolved path, whichever node_modules it sits in.
    file: /[\\/]@sigstore[\\/]core[\\/]dist[\\/]x509[\\/]cert\.js$/,
    find: `    equals(other) {
        return this.root.toDER().equals(other.root.toDER());
    }`,
    replace: `    equals(other) {
        return this.der.equals(other.der);
    }
    // The certificate's DER encoding, built once: chain building compares every pair of trusted
    // certificates (dedupeCertificates) and each candidate issuer, and re-encoded both each time.
    // A certificate is not modified after parsing (clone() makes the copy that sct.js edits).
    get der() {
        if (this._der === undefined) this._der = this.root.toDER();
        return this._der;
    }`,
  },
];

/** `source` with the patches for `path` applied; throws when a patch for it does not match exactly once. */
export function applyPatches(path, source) {
  let patched = source;
  for (const patch of PATCHES.filter((p) => p.file.test(path))) {
    const at = patched.indexOf(patch.find);
    if (at === -1 || patched.indexOf(patch.find, at + 1) !== -1) {
      throw new Error(`dependency patch "${patch.name}" does not apply to ${path}: see patches/README.md`);
    }
    patched = patched.slice(0, at) + patch.replace + patched.slice(at + patch.find.length);
  }
  return patched;
}

/** The esbuild plugin; it also fails the build when a patched file is no longer part of it. */
export function dependencyPatchesPlugin() {
  return {
    name: 'dependency-patches',
    setup(build) {
      const applied = new Set();
      build.onLoad({ filter: new RegExp(PATCHES.map((p) => p.file.source).join('|')) }, async (args) => {
        const { readFile } = await import('node:fs/promises');
        const source = applyPatches(args.path, await readFile(args.path, 'utf8'));
        PATCHES.filter((p) => p.file.test(args.path)).forEach((p) => applied.add(p.name));
        return { contents: source, loader: 'js' };
      });
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        const missing = PATCHES.filter((p) => !applied.has(p.name));
        if (missing.length > 0) throw new Error(`dependency patches for files the build no longer bundles: ${missing.map((p) => p.name).join('; ')}`);
      });
    },
  };
}
