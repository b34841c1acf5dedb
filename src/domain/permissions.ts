/** Permissions (SPEC §6): what a route asks of its caller. A key's permissions are the union over its roles. */
export const PERMISSIONS = [
  'EDIT_API_KEYS',
  'CREATE_SECRETS',
  'READ_SECRET_VALUES',
  'VIEW_AUDIT_LOGS',
  'CONFIGURE_IP_ALLOWLIST',
  'EDIT_ROLES',
  'EDIT_WEBHOOKS',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
