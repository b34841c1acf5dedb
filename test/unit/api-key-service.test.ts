/**
 * The API-key service's rules that HTTP cannot reach yet: "no privilege escalation" (a new key's
 * permissions must be a subset of the caller's) between keys that both hold EDIT_API_KEYS, which
 * only custom roles will make possible; and the bootstrap key (SPEC §8).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { generateToken } from '../../src/crypto/tokens.js';
import { connectSqlite } from '../../src/db/connect.js';
import type { Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { DomainError } from '../../src/domain/errors.js';
import { NO_SCOPES } from '../../src/domain/grants.js';
import { type ApiKeyService, createApiKeyService } from '../../src/features/api-keys/api-keys.service.js';
import { createAuthentication, type KeyPrincipal } from '../../src/features/api-keys/authentication.js';
import { BOOTSTRAP_FILE_NAME, ensureBootstrapKey } from '../../src/features/api-keys/bootstrap.js';
import { createAuditLog } from '../../src/features/audit/audit.log.js';
import { role } from '../helpers/keys.js';
import type { Permission } from '../helpers/spec.js';

let dataDir: string;
let store: Store;
let service: ApiKeyService;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-unit-'));
  store = connectSqlite(dataDir);
  await migrateToLatest(store.db, store.dialect);
  service = createApiKeyService({
    store,
    now: () => new Date(),
    audit: createAuditLog({ store, now: () => new Date() }),
  });
});
after(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A caller holding exactly these permissions, as a custom role would give. */
function caller(...permissions: Permission[]): KeyPrincipal {
  const key = {
    cid: 'ak00000000000000ca',
    name: 'caller',
    description: null,
    createdDate: new Date().toISOString(),
    expirationDate: null,
    last4: 'abcd',
    roles: [{ type: 'CUSTOM' as const, tag: 'key-editor' }],
    allowedIps: null,
    rateLimitPerMinute: null,
    lastUsedDate: null,
  };
  return { cid: key.cid, key, permissions: new Set(permissions), scopes: NO_SCOPES };
}

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return error;
  }
  assert.fail('the call was allowed');
}

describe('no privilege escalation', () => {
  test('a key editor without other permissions may create only permission-less keys', async () => {
    const editor = caller('EDIT_API_KEYS');
    for (const name of ['READ_ONLY', 'VIEWER'] as const) {
      const created = await service.create(editor, { name: name, roles: [role(name)] });
      assert.deepEqual(created.roles, [role(name)]);
    }
    for (const name of ['USER', 'MANAGER', 'ADMIN'] as const) {
      const error = await refusal(service.create(editor, { name, roles: [role(name)] }));
      assert.equal(error.kind, 'forbidden', name);
    }
  });

  test('a new key may hold what the caller holds, not one permission more', async () => {
    const editor = caller('EDIT_API_KEYS', 'CREATE_SECRETS');
    await service.create(editor, { name: 'user', roles: [role('USER')] });
    const error = await refusal(service.create(editor, { name: 'manager', roles: [role('MANAGER')] }));
    assert.equal(error.kind, 'forbidden');
    assert.match(error.detail, /VIEW_AUDIT_LOGS/);
    const twoRoles = await refusal(
      service.create(editor, { name: 'two', roles: [role('USER'), role('MANAGER')] }),
    );
    assert.equal(twoRoles.kind, 'forbidden');
  });

  test('a caller may not update, roll or delete a key holding permissions it lacks', async () => {
    const admin = await service.create(
      caller(
        'EDIT_API_KEYS',
        'CREATE_SECRETS',
        'READ_SECRET_VALUES',
        'VIEW_AUDIT_LOGS',
        'CONFIGURE_IP_ALLOWLIST',
        'EDIT_ROLES',
        'EDIT_WEBHOOKS',
      ),
      {
        name: 'an admin',
        roles: [role('ADMIN')],
      },
    );
    const editor = caller('EDIT_API_KEYS');
    assert.equal((await refusal(service.update(editor, admin.cid, { name: 'mine now' }))).kind, 'forbidden');
    assert.equal((await refusal(service.delete(editor, admin.cid))).kind, 'forbidden');
    // A roll would hand the editor a token with ADMIN's permissions.
    const roll = await refusal(service.roll(editor, admin.cid, { expireOldAfterSeconds: 0 }));
    assert.equal(roll.kind, 'forbidden');
    assert.match(roll.detail, /Cannot roll API key/);
    const unchanged = await service.get(admin.cid);
    assert.deepEqual([unchanged.name, unchanged.last4], ['an admin', admin.last4]);
  });

  test('refusals store nothing', async () => {
    const before = (await service.list({ page: 0, pageSize: 1000 })).total;
    await refusal(service.create(caller('EDIT_API_KEYS'), { name: 'no', roles: [role('ADMIN')] }));
    assert.equal((await service.list({ page: 0, pageSize: 1000 })).total, before);
  });
});

describe('the bootstrap key', () => {
  function capture() {
    const lines: string[] = [];
    const log = {
      info: (...args: unknown[]) => void lines.push(JSON.stringify(args)),
      warn: (...args: unknown[]) => void lines.push(JSON.stringify(args)),
      error: (...args: unknown[]) => void lines.push(JSON.stringify(args)),
    } as unknown as FastifyBaseLogger;
    return { lines, log };
  }

  async function freshService() {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-bootstrap-'));
    const fresh = connectSqlite(dir);
    await migrateToLatest(fresh.db, fresh.dialect);
    return {
      dir,
      store: fresh,
      service: createApiKeyService({
        store: fresh,
        now: () => new Date(),
        audit: createAuditLog({ store: fresh, now: () => new Date() }),
      }),
      authenticate: createAuthentication({ store: fresh, now: () => new Date() }),
    };
  }

  test('without a configured token: an ADMIN key named bootstrap, its token in a 0600 file, not in the log', async () => {
    const { dir, store: fresh, service: bootstrapService, authenticate } = await freshService();
    try {
      const { lines, log } = capture();
      await ensureBootstrapKey(bootstrapService, { dataDir: dir, token: undefined, log });
      const file = join(dir, BOOTSTRAP_FILE_NAME);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const token = readFileSync(file, 'utf8').trim();
      const principal = await authenticate(token);
      assert.ok(typeof principal === 'object');
      assert.equal(principal.key.name, 'bootstrap');
      assert.deepEqual(principal.key.roles, [role('ADMIN')]);
      assert.ok(
        lines.some((line) => line.includes(BOOTSTRAP_FILE_NAME)),
        'the log does not name the file',
      );
      for (const line of lines) assert.ok(!line.includes(token), `the token is logged: ${line}`);

      // A second start finds keys and does nothing: no new key, the file untouched.
      await ensureBootstrapKey(bootstrapService, { dataDir: dir, token: undefined, log });
      assert.equal((await bootstrapService.list({ page: 0, pageSize: 10 })).total, 1);
      assert.equal(readFileSync(file, 'utf8').trim(), token);
    } finally {
      await fresh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with TESSERA_BOOTSTRAP_TOKEN: that token is the key, no file, not in the log', async () => {
    const { dir, store: fresh, service: bootstrapService, authenticate } = await freshService();
    try {
      const { lines, log } = capture();
      const token = generateToken();
      await ensureBootstrapKey(bootstrapService, { dataDir: dir, token, log });
      const principal = await authenticate(token);
      assert.ok(typeof principal === 'object');
      assert.equal(principal.key.last4, token.slice(-4));
      assert.throws(() => statSync(join(dir, BOOTSTRAP_FILE_NAME)));
      for (const line of lines) assert.ok(!line.includes(token), `the token is logged: ${line}`);
    } finally {
      await fresh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
