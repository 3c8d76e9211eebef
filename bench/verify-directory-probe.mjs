// Spawned by bench/directories.mjs: verifies one signed directory with the
// API's verifyDirectory (its policy from TRUSTLOAD_POLICY) and prints one JSON
// line: wall and CPU milliseconds of the call (CPU: every thread of the
// process), the files it listed, and the peak resident set size of this
// process (all threads) in KiB.
//
//   node bench/verify-directory-probe.mjs DIR
const { verifyDirectory } = await import(new URL('../dist/index.js', import.meta.url).href);
const cpu = process.cpuUsage();
const start = process.hrtime.bigint();
const directory = await verifyDirectory(process.argv[2]);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const { user, system } = process.cpuUsage(cpu);
console.log(JSON.stringify({ ms, cpuMs: (user + system) / 1000, files: directory.files.length, maxRssKiB: process.resourceUsage().maxRSS }));
