import { ErrorCodes, TrustloadError } from '../errors.js';

/**
 * Reads standard input to its end (the command line's `-`). A pipe has no
 * size to check first, so the limit is counted while reading and the read
 * stops as soon as it is passed.
 */
export async function readStandardInput(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > limit) throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `standard input is larger than the limit of ${limit} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof TrustloadError) throw err;
    throw new TrustloadError(ErrorCodes.UNSUPPORTED_LOAD, `cannot read standard input: ${(err as Error).message}`, { cause: err });
  }
  return Buffer.concat(chunks, length);
}
