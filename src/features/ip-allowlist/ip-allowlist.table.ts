import type { Selectable } from 'kysely';

/**
 * One entry of the IP allowlist: an address or CIDR range as it was sent, at its place in the
 * list (0 to n − 1: the list is replaced whole, never edited in place).
 */
export interface IpAllowlistTable {
  position: number;
  address: string;
  description: string | null;
}

export type IpAllowlistRow = Selectable<IpAllowlistTable>;
