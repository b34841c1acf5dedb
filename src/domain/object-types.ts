/** What an audited act is done to: what a route acts on, and an audit event's object type. */
export const OBJECT_TYPES = [
  'API_KEY',
  'SECRET',
  'MASTER_KEY',
  'AUDIT_LOG',
  'IP_ALLOWLIST',
  'ROLE',
  'WEBHOOK',
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];
