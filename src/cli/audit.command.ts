import type { Config } from '../config.js';
import { connect } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { countPending } from '../features/audit/audit.repository.js';
import { verifyAuditChain } from '../features/audit/audit.verify.js';

/** `tessera audit verify`: 0 when the chain is intact, 1 naming the first broken event. */
export async function runAuditVerify(config: Config): Promise<number> {
  const store = await connect({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: 2 });
  try {
    await migrateToLatest(store.db, store.dialect);
    const result = await verifyAuditChain(store);
    // Read-only: events committed but not chained yet (PostgreSQL) are left to the nodes' sealer,
    // which also exports them; they are counted, so nothing waits unseen.
    const pending = await countPending(store.db);
    if (result.ok) {
      process.stdout.write(
        `audit log intact: ${result.events} events verified from event #${result.fromSeq}\n` +
          (pending === 0
            ? ''
            : `${pending} more events are committed but not chained yet: a running node chains them within about a second (none running: the next to start does); run this again to verify them\n`),
      );
      return 0;
    }
    process.stdout.write(`audit log BROKEN at event #${result.seq}: ${result.problem}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
