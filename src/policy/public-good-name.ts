// Apart from schema.ts, so that code which needs the name does not load zod.

/** The trusted root shipped with trustload, always available to signers by this name. */
export const PUBLIC_GOOD_ROOT = 'sigstore-public-good';
