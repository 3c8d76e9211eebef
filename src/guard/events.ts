import diagnostics from 'node:diagnostics_channel';
import type { ErrorCode } from '../errors.js';
import type { VerifiedSigner } from '../verify/signers.js';

/** Every decision the guard makes is published here (PRODUCT.md, "Events"). */
export const DECISION_CHANNEL = 'trustload:decision';

export type DecisionKind = 'verified' | 'refused' | 'warned' | 'unmatched' | 'changed';

export interface Decision {
  path: string;
  rule?: string;
  decision: DecisionKind;
  code?: ErrorCode;
  signer?: VerifiedSigner;
  digest?: string;
  ms: number;
}

const channel = diagnostics.channel(DECISION_CHANNEL);

/** Checked first, so that a process nobody listens to builds no event objects. */
export function hasDecisionSubscribers(): boolean {
  return channel.hasSubscribers;
}

export function publishDecision(decision: Decision): void {
  channel.publish(decision);
}
