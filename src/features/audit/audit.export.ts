import { createWriteStream } from 'node:fs';
import { toAuditLog } from './audit.service.js';
import type { AuditEventRow } from './audit.table.js';

/**
 * Streams each committed event as one JSON line, for a SIEM: to stdout (beside the service's
 * logs, told apart by `"type":"tessera.audit"`) or appended to a file (mode 0600).
 */
export function createAuditExporter(target: string): {
  write(row: AuditEventRow): void;
  close(): Promise<void>;
} {
  const line = (row: AuditEventRow) =>
    `${JSON.stringify({ type: 'tessera.audit', ...toAuditLog(row), hash: row.hash })}\n`;
  if (target === 'stdout') {
    return { write: (row) => void process.stdout.write(line(row)), close: async () => {} };
  }
  const stream = createWriteStream(target, { flags: 'a', mode: 0o600 });
  return {
    write: (row) => void stream.write(line(row)),
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}
