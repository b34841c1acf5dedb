import { chmodSync, closeSync, createWriteStream, openSync } from 'node:fs';
import { ConfigError } from '../../config.js';
import { toAuditLog } from './audit.mapping.js';
import type { AuditEventRow } from './audit.table.js';

export interface AuditExporter {
  write(row: AuditEventRow): void;
  close(): Promise<void>;
}

/**
 * Streams each committed event as one JSON line, for a SIEM: to stdout (beside the service's
 * logs, told apart by `"type":"tessera.audit"`) or appended to a file (mode 0600). The database
 * stays the record: a failing export (a full disk) is reported once through `onError` and never
 * stops the service.
 */
export function createAuditExporter(target: string, onError: (error: Error) => void): AuditExporter {
  const line = (row: AuditEventRow) =>
    `${JSON.stringify({ type: 'tessera.audit', ...toAuditLog(row), hash: row.hash })}\n`;
  if (target === 'stdout') {
    return { write: (row) => void process.stdout.write(line(row)), close: async () => {} };
  }
  try {
    // Open once now so an unusable path stops start-up with a clear line, not a crash later.
    closeSync(openSync(target, 'a', 0o600));
    chmodSync(target, 0o600);
  } catch (error) {
    throw new ConfigError(
      `TESSERA_AUDIT_EXPORT: cannot write to ${target} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const stream = createWriteStream(target, { flags: 'a', mode: 0o600 });
  let failed = false;
  stream.on('error', (error) => {
    if (!failed) onError(error);
    failed = true;
  });
  return {
    write: (row) => {
      if (!failed) stream.write(line(row));
    },
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}
