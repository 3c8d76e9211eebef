import type { FileHandle } from 'node:fs/promises';
import { ErrorCodes, TrustloadError } from '../errors.js';
import { ownOpen } from './own-fs.js';
import { bufferFor, MAX_ARTIFACT_BYTES, OPEN_FLAGS, openError, readError } from './read.js';

// Its own file: only the API's readVerified reads asynchronously, and start-up need not load node:fs/promises.

/** readArtifactFile without blocking the event loop: the same single descriptor, checks and limit. */
export async function readArtifactFileAsync(path: string): Promise<Buffer> {
  const [limit, what, code, missingCode] = [MAX_ARTIFACT_BYTES, 'file', ErrorCodes.UNSUPPORTED_LOAD, ErrorCodes.MISSING_FILE];
  let handle: FileHandle;
  try {
    handle = await ownOpen(path, OPEN_FLAGS);
  } catch (err) {
    throw openError(err, path, what, code, missingCode);
  }
  try {
    const buffer = bufferFor(await handle.stat(), path, limit, what, code);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw new TrustloadError(code, `${what} ${path} grew while being read`);
    }
    return buffer.subarray(0, length);
  } catch (err) {
    throw readError(err, path, what, code);
  } finally {
    await handle.close();
  }
}
