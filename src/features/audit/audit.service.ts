import type { Store } from '../../db/database.js';
import { parseDateTime } from '../../domain/date-time.js';
import { throwIfViolations, type Violation, violation } from '../../domain/errors.js';
import { OBJECT_TYPES } from '../../domain/object-types.js';
import { Page } from '../../domain/page.js';
import type { AuditLog } from './audit.log.js';
import type { AuditLogEntry } from './audit.mapping.js';
import { type AuditFilter, listAuditEvents } from './audit.repository.js';
import type { AuditQuery } from './audit.schemas.js';
import { ACTOR_TYPES, AUDIT_ACTIONS, CORTEX_ACTOR_TYPES } from './audit.table.js';

const CORTEX_REQUEST_TYPES = ['API_KEY_ENTITY', 'ATLASSIAN_WEBHOOK', 'SCORECARD_BADGES', 'SLACK_COMMAND'];
const MAX_VALUES = 100;

/** Splits a comma-joined filter; every value must be allowed (when a list is given). */
function values(
  query: AuditQuery,
  name: keyof AuditQuery,
  violations: Violation[],
  allowed?: readonly string[],
): string[] | undefined {
  const raw = query[name];
  if (typeof raw !== 'string') return undefined;
  const parts = raw
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (parts.length === 0) return undefined;
  if (parts.length > MAX_VALUES) {
    violations.push(violation(`/query/${name}`, `'${name}' takes at most ${MAX_VALUES} values`));
    return undefined;
  }
  const unknown = allowed === undefined ? [] : parts.filter((p) => !allowed.includes(p));
  if (unknown.length > 0) {
    violations.push(
      violation(
        `/query/${name}`,
        `'${name}' has unknown values ${unknown.join(', ')}; allowed: ${allowed?.join(', ')}`,
      ),
    );
  }
  return parts;
}

function instant(query: AuditQuery, name: 'startTime' | 'endTime', violations: Violation[]) {
  const raw = query[name];
  if (raw === undefined) return undefined;
  const parsed = parseDateTime(raw);
  if (parsed === undefined) {
    violations.push(violation(`/query/${name}`, `'${name}' must be an ISO 8601 date-time (no zone: UTC)`));
    return undefined;
  }
  // An end given to the day, hour, minute or second covers all of it: `-e 2026-11-30T23:59` includes 23:59:59.999.
  if (name === 'endTime' && !raw.includes('.')) {
    const time = raw.trim().split(/[T ]/)[1];
    const precision = time === undefined ? 0 : time.replace(/(Z|[+-]\d{2}:?\d{2})$/i, '').split(':').length;
    const extra = [86_399_999, 3_599_999, 59_999, 999][precision] ?? 0;
    return new Date(parsed.getTime() + extra).toISOString();
  }
  return parsed.toISOString();
}

export function createAuditService({ store, audit }: { store: Store; audit: Pick<AuditLog, 'sealed'> }) {
  return {
    async list(query: AuditQuery): Promise<Page<AuditLogEntry>> {
      const violations: Violation[] = [];
      const filter: AuditFilter = {
        from: instant(query, 'startTime', violations),
        to: instant(query, 'endTime', violations),
        actions: values(query, 'actions', violations, AUDIT_ACTIONS),
        objectIds: values(query, 'objectIdentifiers', violations),
        objectTypes: values(query, 'objectTypes', violations, OBJECT_TYPES),
        actorTypes: values(query, 'actorTypes', violations, [
          ...new Set([...ACTOR_TYPES, ...CORTEX_ACTOR_TYPES]),
        ]),
        actorIds: values(query, 'actorApiKeyIdentifiers', violations),
        ips: values(query, 'actorIpAddresses', violations),
      };
      // Cortex filters on user actors and request types: Tessera records neither, so they match nothing.
      const emails = values(query, 'actorEmails', violations);
      const requestTypes = values(query, 'actorRequestTypes', violations, CORTEX_REQUEST_TYPES);
      throwIfViolations(violations);
      if (emails !== undefined || requestTypes !== undefined) return Page.empty(query);
      // Every event committed so far is in the chain, the caller's own among them.
      await audit.sealed();
      return listAuditEvents(store.db, store.dialect, filter, query);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
