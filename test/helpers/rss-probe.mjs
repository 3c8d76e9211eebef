// Preloaded with `node --import` into a command-line process under test:
// when the process exits, writes its peak resident set size (kilobytes) to
// the file named by TRUSTLOAD_TEST_RSS_FILE, so a test can show that an
// input was refused without being read into memory.
import { writeFileSync } from 'node:fs';

const out = process.env.TRUSTLOAD_TEST_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
