import type { IpAllowlistRow } from './ip-allowlist.table.js';

/** An allowlist entry as the API shows it (Cortex's shape): `description` null when unset. */
export interface IpAllowlistEntry {
  address: string;
  description: string | null;
}

export function toIpAllowlistEntry(row: Pick<IpAllowlistRow, 'address' | 'description'>): IpAllowlistEntry {
  return { address: row.address, description: row.description };
}
