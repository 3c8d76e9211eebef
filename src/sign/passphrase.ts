import { signingError } from './signing-error.js';

/** Whether a passphrase can be asked: both ends of the conversation are a terminal. */
export function canAsk(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Asks on the terminal with echo off (raw mode: the characters typed are
 * never written back). Enter ends the answer; Ctrl-C cancels.
 */
export function askHidden(question: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    let answer = '';
    const finish = (cancelled: boolean): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (cancelled) reject(signingError('cancelled at the passphrase prompt'));
      else resolve(answer);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(false);
        if (ch === '\u0003') return finish(true);
        if (ch === '\u007f' || ch === '\b') answer = [...answer].slice(0, -1).join('');
        else answer += ch;
      }
    };
    process.stderr.write(question);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

/** The passphrase of an encrypted key: TRUSTLOAD_KEY_PASSWORD, else asked on the terminal. */
export async function keyPassphrase(keyPath: string): Promise<string> {
  const fromEnv = process.env.TRUSTLOAD_KEY_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!canAsk()) {
    throw signingError(`the private key ${keyPath} is encrypted: set TRUSTLOAD_KEY_PASSWORD, or run on a terminal to be asked for its passphrase`);
  }
  return askHidden(`Passphrase for ${keyPath}: `);
}
