/**
 * Loaded into every `tessera serve` child that spawnServer starts (`node --import`): once the
 * process's HTTP server listens, its port is written to the file named by
 * TESSERA_TEST_LISTEN_REPORT. The test then learns the port from the process that bound it,
 * instead of probing for a free port and hoping nothing else binds it before the child does (a
 * child takes seconds to start under load, and every in-process test server listens on port 0,
 * so another test's server could take the port and answer the child's health check).
 *
 * The product is untouched: this wraps `net.Server.prototype.listen` in the child only. Cluster
 * workers skip it (they inherit the flag): their listening socket is the primary's, which reports.
 */
import cluster from 'node:cluster';
import { renameSync, writeFileSync } from 'node:fs';
import { Server } from 'node:net';

const file = process.env.TESSERA_TEST_LISTEN_REPORT;
if (file !== undefined && file !== '' && cluster.isPrimary) {
  const listen = Server.prototype.listen;
  let reported = false;
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    this.once('listening', () => {
      const address = this.address();
      // The first TCP listener is the HTTP server: `tessera serve` opens no other.
      if (reported || address === null || typeof address !== 'object') return;
      reported = true;
      // Written whole, then renamed: the test never reads half a line.
      writeFileSync(`${file}.part`, `${address.port}\n`);
      renameSync(`${file}.part`, file);
    });
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
}
