import type { Generated, Selectable } from 'kysely';
import type { ObjectType } from '../../domain/object-types.js';

export const AUDIT_ACTIONS = ['CREATE', 'READ', 'UPDATE', 'DELETE'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted. Cortex's own actor types are accepted as filters too; Tessera records these three. */
export const ACTOR_TYPES = ['API_KEY', 'ANONYMOUS', 'SYSTEM'] as const;
export const CORTEX_ACTOR_TYPES = [
  'ANONYMOUS',
  'API_KEY',
  'BACKSTAGE',
  'OAUTH2',
  'PERSONAL_API_KEY',
] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export type AuditOutcome = 'SUCCESS' | 'DENIED';

export interface AuditEventTable {
  /** bigint: PostgreSQL returns it as text, SQLite as a number; read it through Number(). */
  seq: number | string;
  occurred_at: string;
  actor_type: ActorType;
  actor_id: string | null;
  action: AuditAction;
  object_type: ObjectType;
  object_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointTable {
  seq: number | string;
  hash: string;
  created_at: string;
}

export type AuditEventRow = Selectable<AuditEventTable>;

/** An event's own fields: what it says, without its place in the chain. */
export type AuditEventFields = Omit<AuditEventRow, 'seq' | 'prev_hash' | 'hash'>;

/** An event written but not yet chained (PostgreSQL; see the sealer). */
export interface AuditPendingTable extends AuditEventFields {
  /** bigserial: PostgreSQL returns it as text; read it through Number(). */
  id: Generated<number | string>;
}
