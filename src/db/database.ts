import type { Kysely } from 'kysely';
import type { ApiKeyTable } from '../features/api-keys/api-keys.table.js';
import type {
  AuditCheckpointTable,
  AuditEventTable,
  AuditPendingTable,
} from '../features/audit/audit.table.js';
import type { IpAllowlistTable } from '../features/ip-allowlist/ip-allowlist.table.js';
import type { MasterKeyTable } from '../features/keyring/keyring.table.js';
import type { ApiKeyRoleTable, RoleTable } from '../features/roles/roles.table.js';
import type {
  SecretChangeTable,
  SecretTable,
  SecretVersionTable,
} from '../features/secrets/secrets.table.js';
import type {
  WebhookDeliveryTable,
  WebhookReminderTable,
  WebhookTable,
} from '../features/webhooks/webhooks.table.js';
import type { ListItemColumn } from './listing/define-listing.js';

/**
 * Every table, by name. Each feature owns its table's row type; a listed table's stored list item
 * is the listing's (src/db/listing/), so the rows features read and write do not name it.
 */
export interface Database {
  api_keys: ApiKeyTable & ListItemColumn;
  master_keys: MasterKeyTable;
  secrets: SecretTable & ListItemColumn;
  secret_versions: SecretVersionTable;
  secret_changes: SecretChangeTable;
  audit_events: AuditEventTable;
  audit_checkpoints: AuditCheckpointTable;
  audit_pending: AuditPendingTable;
  page_blocks: PageBlockTable;
  page_block_stripes: PageBlockStripeTable;
  ip_allowlist: IpAllowlistTable;
  roles: RoleTable;
  api_key_roles: ApiKeyRoleTable;
  webhooks: WebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_reminders: WebhookReminderTable;
}

/** See src/db/listing/page-blocks.ts. */
export interface PageBlockTable {
  list: string;
  first_created_at: string;
  first_id: string;
  row_count: number;
}

/** See src/db/listing/block-stripes.ts: concurrent additions to a block's count (PostgreSQL). */
export interface PageBlockStripeTable extends PageBlockTable {
  stripe: number;
}

export type Dialect = 'sqlite' | 'postgres';

/** A connected store: the query builder plus what the rest of the app needs to know about it. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** A cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  /** The connection pool's state, where there is one (PostgreSQL), for the metrics. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
