import { dirname, join, parse, relative, sep } from 'node:path';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { isWithin, linkStat, linkTarget } from './examine.js';

/** Links followed in one path before it is refused, as the kernel does (Linux MAXSYMLINKS). */
const MAX_LINKS = 40;

/** One path a load passes through: a name of the file, or a folder it went through but cannot be named in. */
export interface Step {
  path: string;
  folder: boolean;
  /** For a step through a link: the link's own path (its folder is a real path). */
  link?: string;
}

/**
 * Every path a load passes through, in order: the name it was requested by,
 * its name through each link followed on the way, and its real path. A
 * requested name ending in the separator is a folder Node looked in (a
 * package, a folder `require`) when the file inside cannot be named.
 */
export function loadSteps(requested: string, real: string): Step[] {
  if (requested.endsWith(sep)) return [...walk(requested.slice(0, -1), true), { path: real, folder: false }];
  const steps = walk(requested, false);
  const end = steps[steps.length - 1]!.path;
  if (end !== real) {
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `resolves to ${end}, not to ${real}, the file being loaded`, { path: requested });
  }
  return steps;
}

/**
 * Resolves `path` component by component with lstat and readlink, as the
 * kernel does (so `..` after a link goes up from the link's target), and
 * names the file through each link met: the link's own path followed by
 * what is left of the real path below that link's target. A link the path
 * then leaves again (`..` past its target, or a later absolute link) is a
 * folder the load went through.
 */
function walk(path: string, folder: boolean): Step[] {
  const root = parse(path).root;
  const pending = path.slice(root.length).split(sep).reverse(); // the next component last
  const links: { path: string; level: number; target: string }[] = [];
  const open: (typeof links)[number][] = [];
  let resolved = root;
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (name === '..') {
      resolved = dirname(resolved);
    } else if (name !== '' && name !== '.') {
      const next = join(resolved, name);
      if (!linkStat(next).isSymbolicLink()) {
        resolved = next;
      } else {
        if (links.length === MAX_LINKS) {
          throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `more than ${MAX_LINKS} symbolic links on the way to the file`, { path });
        }
        const target = linkTarget(next);
        const link = { path: next, level: pending.length, target: '' };
        links.push(link);
        open.push(link);
        pending.push(...target.split(sep).reverse());
        if (target.startsWith(sep)) resolved = root;
      }
    }
    // A link's target is resolved once every component it added has been consumed.
    while (open.length > 0 && open[open.length - 1]!.level === pending.length) open.pop()!.target = resolved;
  }
  const steps: Step[] = [{ path, folder }];
  for (const link of links) {
    steps.push(
      isWithin(link.target, resolved)
        ? { path: join(link.path, relative(link.target, resolved)), folder, link: link.path }
        : { path: link.path, folder: true, link: link.path },
    );
  }
  steps.push({ path: resolved, folder });
  return steps;
}
