// Summarises V8 CPU profiles: `node --import tsx bench/profile-summary.ts FILE.cpuprofile|DIR [TOP]`.
// `BENCH_CPU_PROF=1 npm run bench` writes a folder per Tessera server (one profile per process: a
// cluster's primary and each worker write their own) and summarises it itself. A folder is
// summarised as one: its profiles added up.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatProfile, summarizeProfiles } from './lib/profile.js';

const [target, top] = process.argv.slice(2);
if (target === undefined) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile|DIR [TOP]\n');
  process.exit(2);
}
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .sort()
      .map((name) => join(target, name))
  : [target];
if (files.length === 0) {
  process.stderr.write(`no .cpuprofile file in ${target}\n`);
  process.exit(1);
}
const title = files.length === 1 ? 'CPU profile' : `CPU profile (${files.length} processes added up)`;
process.stdout.write(
  `${formatProfile(summarizeProfiles(files, top === undefined ? 30 : Number(top)), title)}\n`,
);
