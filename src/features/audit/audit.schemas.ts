import { pageOf, pageQueryProperties } from '../../http/pagination.js';

const list = (description: string) => ({ type: 'string', maxLength: 8192, description }) as const;

/** Cortex's filter names. Lists arrive comma-joined (`actions=CREATE,DELETE`): values OR together. */
export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQueryProperties,
    startTime: {
      type: 'string',
      maxLength: 64,
      description: 'ISO 8601; without a zone it is UTC. Inclusive.',
    },
    endTime: { type: 'string', maxLength: 64, description: 'ISO 8601; without a zone it is UTC. Inclusive.' },
    actions: list('CREATE, READ, UPDATE, DELETE (comma-separated).'),
    objectIdentifiers: list('Key cids or secret tags.'),
    objectTypes: list('API_KEY, SECRET, MASTER_KEY, AUDIT_LOG, IP_ALLOWLIST.'),
    actorTypes: list(
      'API_KEY, ANONYMOUS, SYSTEM (and Cortex’s BACKSTAGE, OAUTH2, PERSONAL_API_KEY, never recorded).',
    ),
    actorApiKeyIdentifiers: list('Cids of the acting keys.'),
    actorIpAddresses: list('Client IP addresses.'),
    actorEmails: list('Cortex: user e-mails. Tessera has no user actors, so this matches nothing.'),
    actorRequestTypes: list('Cortex: request types. Tessera records none, so this matches nothing.'),
  },
} as const;

export const auditLogSchema = {
  type: 'object',
  required: [
    'action',
    'actorIdentifier',
    'actorType',
    'ipAddress',
    'objectIdentifier',
    'objectType',
    'timestamp',
    'outcome',
  ],
  properties: {
    id: { type: 'integer', description: 'Position in the tamper-evident chain.' },
    timestamp: { type: 'string', format: 'date-time' },
    action: { type: 'string' },
    actorIdentifier: { type: 'string', description: 'The acting key’s cid, `anonymous`, or a system actor.' },
    actorType: { type: 'string' },
    ipAddress: { type: ['string', 'null'] },
    userAgent: { type: ['string', 'null'] },
    requestId: { type: ['string', 'null'] },
    objectIdentifier: { type: ['string', 'null'] },
    objectType: { type: 'string' },
    outcome: { type: 'string', enum: ['SUCCESS', 'DENIED'] },
    detail: { type: ['string', 'null'] },
  },
} as const;

export const auditLogListSchema = pageOf('logs', auditLogSchema);

export interface AuditQuery {
  page: number;
  pageSize: number;
  startTime?: string;
  endTime?: string;
  actions?: string;
  objectIdentifiers?: string;
  objectTypes?: string;
  actorTypes?: string;
  actorApiKeyIdentifiers?: string;
  actorIpAddresses?: string;
  actorEmails?: string;
  actorRequestTypes?: string;
}
