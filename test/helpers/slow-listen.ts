/**
 * Loaded into a `tessera serve` child (`node --import`) to hold its start at the last step: the
 * first `listen` call writes the file named by TESSERA_TEST_SLOW_LISTEN (the test's cue that the
 * process is starting) and listens only TESSERA_TEST_SLOW_LISTEN_MS later (default 2,000). For
 * tests of what a signal does while the process starts. The product is untouched: this wraps
 * `net.Server.prototype.listen` in the child only.
 */
import { writeFileSync } from 'node:fs';
import { Server } from 'node:net';

const file = process.env.TESSERA_TEST_SLOW_LISTEN;
if (file !== undefined && file !== '') {
  const delayMs = Number(process.env.TESSERA_TEST_SLOW_LISTEN_MS ?? 2_000);
  const listen = Server.prototype.listen;
  let held = false;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    if (held) return listen.apply(this, args as Parameters<typeof listen>);
    held = true;
    writeFileSync(file, 'starting\n');
    setTimeout(() => listen.apply(this, args as Parameters<typeof listen>), delayMs);
    return this;
  } as typeof listen;
}
