// Written by scripts/extract-public-good-root.mjs from @sigstore/tuf 5.0.1; do not edit.
export const PUBLIC_GOOD_ROOT_SHA256 = '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66';
