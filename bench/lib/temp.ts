import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { onExit } from './lifetime.js';
import { log } from './log.js';

/** Whether a process id is alive (signal 0 only checks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Folders left by a bench that was killed outright (SIGKILL): named after its pid, which is gone. */
export function removeStaleTempDirs() {
  for (const name of readdirSync(os.tmpdir())) {
    const pid = /^tessera-bench-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    log(`removing ${join(os.tmpdir(), name)}, left by an earlier bench (pid ${pid}) that was killed`);
    rmSync(join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

/** A fresh temporary folder named after this bench's pid, removed on the way out unless `keep`. */
export function tempDir(name: string, keep: boolean): string {
  const dir = mkdtempSync(join(os.tmpdir(), `tessera-bench-${process.pid}-${name}-`));
  if (keep) log(`BENCH_KEEP_DATA: keeping ${dir}`);
  else onExit(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
