// Summarises a V8 CPU profile: `node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]`.
// `BENCH_CPU_PROF=1 npm run bench` writes one per Tessera process and summarises it itself.
import { formatProfile, summarizeProfile } from './lib/profile.js';

const [file, top] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
process.stdout.write(`${formatProfile(summarizeProfile(file, top === undefined ? 30 : Number(top)))}\n`);
