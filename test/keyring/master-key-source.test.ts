/**
 * SPEC §7 and §8: where the master key comes from. On the embedded default it is generated into
 * the data folder (mode 0600) on first start; a missing or malformed key is a clear start-up
 * error; a malformed TESSERA_MASTER_KEY is a ConfigError that does not echo the value.
 * These go through src/server.ts's openStorage and src/config.ts's loadConfig, on SQLite (the
 * embedded default) whatever the dialect under test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { NO_SCOPES } from '../../src/domain/grants.js';
import { createAuditLog } from '../../src/features/audit/audit.log.js';
import { KeyringError } from '../../src/features/keyring/keyring.js';
import { createSecretService } from '../../src/features/secrets/secrets.service.js';
import { openStorage } from '../../src/server.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : 'the embedded default is SQLite: covered by the SQLite run';

const folders: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mks-'));
  folders.push(dir);
  return dir;
}
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

const principal = { cid: 'ak0000000000000001', permissions: new Set<never>(), scopes: NO_SCOPES };

/** openStorage, something done with it, and everything closed again. */
async function withStorage<T>(
  env: Record<string, string>,
  use: (opened: Awaited<ReturnType<typeof openStorage>>, warnings: string[]) => Promise<T>,
): Promise<T> {
  const warnings: string[] = [];
  const opened = await openStorage(loadConfig(env), (m) => warnings.push(m));
  try {
    return await use(opened, warnings);
  } finally {
    opened.keyring.close();
    await opened.store.close();
  }
}

function serviceOf(opened: Awaited<ReturnType<typeof openStorage>>) {
  return createSecretService({
    store: opened.store,
    keyring: opened.keyring,
    audit: createAuditLog({ store: opened.store, now: () => new Date() }),
    now: () => new Date(),
    versionsKept: 10,
    revealEnabled: true,
  });
}

async function refused(env: Record<string, string>): Promise<KeyringError> {
  try {
    await withStorage(env, async () => undefined);
  } catch (error) {
    assert.ok(error instanceof KeyringError, `not a KeyringError: ${String(error)}`);
    return error;
  }
  assert.fail('storage opened');
}

function keyForms(key: Buffer | string): string[] {
  const bytes = typeof key === 'string' ? Buffer.from(key.trim(), 'base64') : key;
  return [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
}

describe('the data folder’s master.key', { skip }, () => {
  test('first start generates it: base64 of 32 bytes, mode 0600, reported as generated', async () => {
    const dataDir = freshDir();
    const file = join(dataDir, 'master.key');
    const id = await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => {
      assert.equal(opened.masterKeySource.generated, true);
      assert.equal(opened.masterKeySource.source, file);
      return opened.keyring.active().id;
    });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    assert.equal(key.length, 32);
    assert.equal(masterKeyFrom(key).id, id);
    // The second start reads it: same key, nothing generated, file unchanged.
    const before = readFileSync(file);
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => {
      assert.equal(opened.masterKeySource.generated, false);
      assert.equal(opened.keyring.active().id, id);
    });
    assert.deepEqual(readFileSync(file), before);
  });

  test('values written under it read back after a restart', async () => {
    const dataDir = freshDir();
    const env = { TESSERA_DATA_DIR: dataDir };
    await withStorage(env, async (opened) => {
      await serviceOf(opened).create(principal, { name: 'n', tag: 'kept', secret: 'kept value' });
    });
    await withStorage(env, async (opened) => {
      assert.equal((await serviceOf(opened).reveal(principal, 'kept')).value, 'kept value');
    });
  });

  test('deleted after first start: refused with a message naming the missing file; no new key made', async () => {
    const dataDir = freshDir();
    const file = join(dataDir, 'master.key');
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => {
      await serviceOf(opened).create(principal, { name: 'n', tag: 'stranded', secret: 'v' });
    });
    const key = readFileSync(file, 'utf8');
    unlinkSync(file);
    const error = await refused({ TESSERA_DATA_DIR: dataDir });
    assert.ok(error.message.includes(file), error.message);
    assert.match(error.message, /missing/);
    // Fail closed: a fresh key would strand the data, so none is generated.
    assert.equal(existsSync(file), false);
    // Restoring the file restores access.
    writeFileSync(file, key, { mode: 0o600 });
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => {
      assert.equal((await serviceOf(opened).reveal(principal, 'stranded')).value, 'v');
    });
  });

  test('replaced by another valid key: refused ("does not match"), the key not shown', async () => {
    const dataDir = freshDir();
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async () => undefined);
    const other = randomBytes(32);
    writeFileSync(join(dataDir, 'master.key'), `${other.toString('base64')}\n`);
    const error = await refused({ TESSERA_DATA_DIR: dataDir });
    assert.match(error.message, /does not match/);
    for (const form of keyForms(other)) assert.ok(!error.message.includes(form), error.message);
  });

  test('malformed: refused, naming the file, not its content', async () => {
    const dataDir = freshDir();
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async () => undefined);
    const file = join(dataDir, 'master.key');
    for (const content of [
      'not a key at all',
      randomBytes(16).toString('base64'),
      randomBytes(32).toString('hex'),
    ]) {
      writeFileSync(file, content);
      const error = await refused({ TESSERA_DATA_DIR: dataDir });
      assert.ok(error.message.includes(file), error.message);
      assert.ok(!error.message.includes(content), `the message shows the file's content: ${error.message}`);
    }
  });

  test('readable by group or others: refused, naming the file and chmod 600; 0600 again starts', async () => {
    const dataDir = freshDir();
    const file = join(dataDir, 'master.key');
    const id = await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => opened.keyring.active().id);
    for (const mode of [0o644, 0o640]) {
      chmodSync(file, mode);
      await assert.rejects(
        withStorage({ TESSERA_DATA_DIR: dataDir }, async () => undefined),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          const octal = mode.toString(8).padStart(4, '0');
          assert.equal(
            error.message,
            `${file} is accessible by group or others (mode ${octal}): run chmod 600 ${file}`,
          );
          return true;
        },
      );
    }
    chmodSync(file, 0o600);
    await withStorage({ TESSERA_DATA_DIR: dataDir }, async (opened) => {
      assert.equal(opened.keyring.active().id, id);
    });
  });

  test('with TESSERA_MASTER_KEY set, no key file is written and the configured key is used', async () => {
    const dataDir = freshDir();
    const key = randomBytes(32);
    await withStorage(
      { TESSERA_DATA_DIR: dataDir, TESSERA_MASTER_KEY: key.toString('base64') },
      async (opened) => {
        assert.equal(opened.masterKeySource.generated, false);
        assert.equal(opened.keyring.active().id, masterKeyFrom(key).id);
      },
    );
    assert.equal(existsSync(join(dataDir, 'master.key')), false);
    // The data folder is now bound to that key: starting without it is refused.
    const error = await refused({ TESSERA_DATA_DIR: dataDir });
    assert.match(error.message, /no master key/);
    assert.equal(existsSync(join(dataDir, 'master.key')), false);
  });

  test('TESSERA_MASTER_KEY_FILE is read like the variable', async () => {
    const dataDir = freshDir();
    const key = randomBytes(32);
    const keyFile = join(freshDir(), 'key');
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600 });
    await withStorage({ TESSERA_DATA_DIR: dataDir, TESSERA_MASTER_KEY_FILE: keyFile }, async (opened) => {
      assert.equal(opened.keyring.active().id, masterKeyFrom(key).id);
    });
  });

  test('TESSERA_MASTER_KEY_FILE readable by group or others: ConfigError naming the variable, the file and the fix', () => {
    const keyFile = join(freshDir(), 'key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`);
    chmodSync(keyFile, 0o644);
    assert.throws(
      () => loadConfig({ TESSERA_MASTER_KEY_FILE: keyFile }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(
          error.message,
          `TESSERA_MASTER_KEY_FILE: ${keyFile} is accessible by group or others (mode 0644): run chmod 600 ${keyFile}`,
        );
        return true;
      },
    );
  });
});

describe('a malformed configured key: ConfigError naming the variable, never the value', { skip }, () => {
  const malformed: [string, string][] = [
    ['not base64', 'this is not a key!'],
    ['base64 of 16 bytes', randomBytes(16).toString('base64')],
    ['base64 of 31 bytes', randomBytes(31).toString('base64')],
    ['base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
    [
      'base64 of 32 bytes with garbage inside',
      `${randomBytes(16).toString('base64')}!!${randomBytes(15).toString('base64')}`,
    ],
  ];
  for (const [label, value] of malformed) {
    test(`TESSERA_MASTER_KEY: ${label}`, () => {
      assert.throws(
        () => loadConfig({ TESSERA_DATA_DIR: freshDir(), TESSERA_MASTER_KEY: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /TESSERA_MASTER_KEY/);
          assert.ok(!error.message.includes(value.trim()), `the value is echoed: ${error.message}`);
          return true;
        },
      );
    });
  }

  test('TESSERA_MASTER_KEY_FILE holding a malformed key: names the file, not its content', () => {
    const keyFile = join(freshDir(), 'key');
    const content = randomBytes(24).toString('base64');
    writeFileSync(keyFile, content, { mode: 0o600 });
    assert.throws(
      () => loadConfig({ TESSERA_MASTER_KEY_FILE: keyFile }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(error.message.includes(keyFile), error.message);
        assert.ok(!error.message.includes(content), error.message);
        return true;
      },
    );
  });

  test('both TESSERA_MASTER_KEY and TESSERA_MASTER_KEY_FILE: ConfigError, neither value shown', () => {
    const value = randomBytes(32).toString('base64');
    assert.throws(
      () => loadConfig({ TESSERA_MASTER_KEY: value, TESSERA_MASTER_KEY_FILE: '/nonexistent/key' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(!error.message.includes(value));
        return true;
      },
    );
  });

  test('a valid key, base64 or base64url, with surrounding whitespace: accepted', () => {
    const key = randomBytes(32);
    for (const text of [key.toString('base64'), key.toString('base64url'), `  ${key.toString('base64')}\n`]) {
      const config = loadConfig({ TESSERA_MASTER_KEY: text });
      assert.deepEqual(config.masterKey?.key, key);
    }
  });
});
