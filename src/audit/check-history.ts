import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SignerSpec } from '../verify/signers.js';
import type { Finding } from './check-chains.js';
import { checkSeals } from './check-seals.js';
import { checkHead } from './head.js';
import type { History } from './history.js';

/**
 * Everything about the trail's sealed history but the chains: segments
 * missing or left unlinked, the links between segments and, with the
 * operator's key, their signatures and the signed head. `audit seal` runs it
 * before extending a history, so that it never signs a head over one cut short.
 */
export function checkHistory(file: string, history: History, signer: SignerSpec | undefined): { findings: Finding[]; head: string | undefined } {
  const { segments, missing } = history;
  const findings: Finding[] = [];
  if (missing !== undefined) findings.push({ line: undefined, message: `sealed segment ${missing.name}, named by the seal in ${missing.from}, is missing: removed` });
  findings.push(...unlinkedSegments(file, segments.map((segment) => segment.path)));
  findings.push(...checkSeals(file, segments, signer));
  if (signer === undefined) return { findings, head: undefined };
  const head = checkHead(file, segments, signer);
  findings.push(...head.findings);
  return { findings, head: head.digest };
}

/** Sealed segments in the trail's folder that no seal line links: a seal line removed to drop the history before it. */
function unlinkedSegments(file: string, linked: readonly string[]): Finding[] {
  const name = basename(file);
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d{6}$`);
  return readdirSync(dirname(file))
    .filter((entry) => pattern.test(entry) && !linked.includes(join(dirname(file), entry)))
    .map((entry) => ({ line: undefined, message: `sealed segment ${join(dirname(file), entry)} is not linked from the trail: its seal line was removed` }));
}
