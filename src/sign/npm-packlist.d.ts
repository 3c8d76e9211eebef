// npm-packlist ships no types; this is the one call trustload makes.
declare module 'npm-packlist' {
  function packlist(tree: unknown, options?: { path?: string }): Promise<string[]>;
  export default packlist;
}
