import { ErrorCodes, TrustloadError } from '../errors.js';
import { isPlainObject, parseJson } from '../io/json.js';
import { hashBytes, type Artifact } from './artifact.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1']);
const SUBJECT_ALGORITHMS = ['sha256', 'sha512'] as const;

export interface StatementSubject {
  name: string | undefined;
  digest: Partial<Record<string, string>>;
}

/** Decodes an in-toto statement payload and returns its subjects. */
export function statementSubjects(payload: Buffer): StatementSubject[] {
  const statement = parseJson(payload.toString('utf8'), 'the DSSE payload');
  if (!isPlainObject(statement) || typeof statement._type !== 'string' || !STATEMENT_TYPES.has(statement._type)) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, 'the DSSE payload is not an in-toto statement');
  }
  if (!Array.isArray(statement.subject) || statement.subject.length === 0) {
    throw new TrustloadError(ErrorCodes.BAD_BUNDLE, 'the in-toto statement has no subjects');
  }
  return statement.subject.map((subject, i) => {
    if (!isPlainObject(subject) || !isPlainObject(subject.digest)) {
      throw new TrustloadError(ErrorCodes.BAD_BUNDLE, `in-toto subject ${i} has no digest`);
    }
    const digest: Record<string, string> = {};
    for (const [algorithm, value] of Object.entries(subject.digest)) {
      if (typeof value === 'string') digest[algorithm] = value.toLowerCase();
    }
    return { name: typeof subject.name === 'string' ? subject.name : undefined, digest };
  });
}

/**
 * Requires the artifact to be one of the statement's subjects, by SHA-256 or
 * SHA-512. @sigstore/verify checks the envelope's signature but never relates
 * the statement to the file, so without this any signed statement would do.
 */
export function requireSubject(subjects: StatementSubject[], artifact: Artifact): void {
  for (const algorithm of SUBJECT_ALGORITHMS) {
    let hex: string | undefined;
    if ('bytes' in artifact) hex = hashBytes(algorithm, artifact.bytes).toString('hex');
    else if (algorithm === 'sha256') hex = artifact.sha256.toString('hex');
    if (hex !== undefined && subjects.some((s) => s.digest[algorithm] === hex)) return;
  }
  const found = subjects.map((s) => Object.entries(s.digest).map(([a, v]) => `${a}:${v}`).join(',')).join(' ');
  const digest = 'bytes' in artifact ? hashBytes('sha256', artifact.bytes) : artifact.sha256;
  // As for message signatures: expected is what the signature covers, found is the file.
  throw new TrustloadError(ErrorCodes.SIGNATURE, 'the signed in-toto statement does not name this file as a subject', {
    expected: found || 'no usable subject digests',
    found: `sha256:${digest.toString('hex')}`,
  });
}
