/** loadConfig (src/config.ts): defaults, and a clear, value-free message for every bad setting. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, MAX_WORKERS, masterKeyFromEnv } from '../../src/config.js';
import { decodeMasterKey } from '../../src/crypto/master-key.js';
import { generateToken } from '../../src/crypto/tokens.js';
import { flipChar } from '../helpers/keys.js';

/** The ConfigError loadConfig throws for `env`. */
function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/tessera');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

test('defaults (SPEC §8)', () => {
  const config = loadConfig({}, '/srv/tessera');
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, '/srv/tessera/data');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.bootstrapToken, undefined);
  assert.equal(config.rateLimitPerMinute, 1000);
  assert.equal(config.authFailuresPerMinute, 20);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.workers, 1);
  assert.ok(Object.isFrozen(config));
});

test('TESSERA_WORKERS: a count, or auto for one per usable core', () => {
  assert.equal(loadConfig({ TESSERA_WORKERS: '3' }, '/srv/tessera').workers, 3);
  assert.equal(
    loadConfig({ TESSERA_WORKERS: 'AUTO' }, '/srv/tessera').workers,
    Math.min(availableParallelism(), MAX_WORKERS),
  );
  for (const value of ['0', String(MAX_WORKERS + 1), 'two', '-1', '1.5']) {
    const error = failure({ TESSERA_WORKERS: value });
    assert.match(error.message, /TESSERA_WORKERS must be auto or a whole number from 1 to 64/);
  }
});

test('valid settings are read', () => {
  const token = generateToken();
  const config = loadConfig(
    {
      TESSERA_HOST: '0.0.0.0',
      TESSERA_PORT: '9000',
      TESSERA_DATA_DIR: 'state',
      DATABASE_URL: 'postgres://tessera:pw@db:5432/tessera',
      REDIS_URL: 'rediss://cache:6380',
      TESSERA_BOOTSTRAP_TOKEN: token,
      TESSERA_RATE_LIMIT_PER_MINUTE: '50',
      TESSERA_AUTH_FAILURES_PER_MINUTE: '5',
      TESSERA_LOG_LEVEL: 'DEBUG',
    },
    '/srv/tessera',
  );
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.port, 9000);
  assert.equal(config.dataDir, '/srv/tessera/state');
  assert.equal(config.databaseUrl, 'postgres://tessera:pw@db:5432/tessera');
  assert.equal(config.redisUrl, 'rediss://cache:6380');
  assert.equal(config.bootstrapToken, token);
  assert.equal(config.rateLimitPerMinute, 50);
  assert.equal(config.authFailuresPerMinute, 5);
  assert.equal(config.logLevel, 'debug');
  assert.equal(loadConfig({ DATABASE_URL: 'postgresql://h/db' }).databaseUrl, 'postgresql://h/db');
  assert.equal(loadConfig({ TESSERA_DATA_DIR: '/var/lib/tessera' }).dataDir, '/var/lib/tessera');
});

describe('bad settings stop start-up with a message naming the variable', () => {
  for (const port of ['abc', '-1', '65536', '80.5', '8080x', '0x50']) {
    test(`TESSERA_PORT=${port}`, () => {
      assert.match(failure({ TESSERA_PORT: port }).message, /TESSERA_PORT/);
    });
  }

  test('TESSERA_RATE_LIMIT_PER_MINUTE=0', () => {
    assert.match(failure({ TESSERA_RATE_LIMIT_PER_MINUTE: '0' }).message, /TESSERA_RATE_LIMIT_PER_MINUTE/);
  });

  for (const value of ['0', '-3', 'many', '2.5']) {
    test(`TESSERA_AUTH_FAILURES_PER_MINUTE=${value}`, () => {
      const error = failure({ TESSERA_AUTH_FAILURES_PER_MINUTE: value });
      assert.match(error.message, /TESSERA_AUTH_FAILURES_PER_MINUTE/);
    });
  }

  test('TESSERA_LOG_LEVEL=loud', () => {
    assert.match(failure({ TESSERA_LOG_LEVEL: 'loud' }).message, /TESSERA_LOG_LEVEL/);
  });

  test('a malformed TESSERA_BOOTSTRAP_TOKEN, never quoting it', () => {
    const valid = generateToken();
    for (const bad of [flipChar(valid, 12), valid.slice(0, -1), `gsk_${valid.slice(4)}`, 'hunter2hunter2']) {
      const error = failure({ TESSERA_BOOTSTRAP_TOKEN: bad });
      assert.match(error.message, /TESSERA_BOOTSTRAP_TOKEN/);
      assert.ok(!error.message.includes(bad), error.message);
      assert.ok(!error.message.includes(bad.slice(4, 20)), error.message);
      assert.ok(!String(error.stack).includes(bad), 'the token is in the stack');
    }
  });

  test('DATABASE_URL with another scheme, never quoting its password', () => {
    for (const url of [
      'mysql://tessera:s3cr3t-pw@db/tessera',
      'sqlite:///tmp/s3cr3t-pw.db',
      'http://u:s3cr3t-pw@h',
    ]) {
      const error = failure({ DATABASE_URL: url });
      assert.match(error.message, /DATABASE_URL/);
      assert.match(error.message, /postgres/);
      assert.ok(!error.message.includes('s3cr3t-pw'), error.message);
    }
  });

  test('DATABASE_URL that is not a URL, never quoting it', () => {
    const error = failure({ DATABASE_URL: 'tessera:s3cr3t-pw at db' });
    assert.match(error.message, /DATABASE_URL/);
    assert.ok(!error.message.includes('s3cr3t-pw'), error.message);
  });

  test('REDIS_URL with another scheme', () => {
    assert.match(failure({ REDIS_URL: 'http://cache:6379' }).message, /REDIS_URL/);
  });
});

describe('TESSERA_TRUST_PROXY: a hop count or proxy addresses, never "every hop"', () => {
  const trust = (value: string) => loadConfig({ TESSERA_TRUST_PROXY: value }, '/srv/tessera').trustProxy;

  test('unset, false and 0 trust no proxy (the default)', () => {
    assert.equal(loadConfig({}, '/srv/tessera').trustProxy, false);
    for (const value of ['', 'false', 'FALSE', 'no', 'off', '0', '00'])
      assert.equal(trust(value), false, value);
  });

  test('a whole number is the count of proxies in front', () => {
    assert.equal(trust('1'), 1);
    assert.equal(trust(' 2 '), 2);
    assert.equal(trust('16'), 16);
  });

  test('a comma-separated list of IPv4 and IPv6 addresses and CIDR ranges', () => {
    assert.deepEqual(trust('10.0.0.0/8, 192.0.2.7,fd00::/8, ::1 ,2001:db8::/32,172.16.0.0/12'), [
      '10.0.0.0/8',
      '192.0.2.7',
      'fd00::/8',
      '::1',
      '2001:db8::/32',
      '172.16.0.0/12',
    ]);
    assert.deepEqual(trust('192.0.2.7/32'), ['192.0.2.7/32']);
    assert.deepEqual(trust('2001:db8::/128'), ['2001:db8::/128']);
  });

  test('true (and yes, on) stops start-up with one line saying why and what to write', () => {
    for (const value of ['true', 'TRUE', 'yes', 'on']) {
      const message = failure({ TESSERA_TRUST_PROXY: value }).message;
      assert.equal(
        message,
        'TESSERA_TRUST_PROXY=true would let clients choose their own address: set it to the number of proxies in front of Tessera (e.g. 1) or to their addresses/CIDRs',
      );
      assert.doesNotMatch(message, /\n/);
    }
  });

  for (const value of [
    '17',
    'loopback',
    '10.0.0.0/0',
    '::/0',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.256',
    '10.0.0.1,',
    '10.0.0.1,,10.0.0.2',
    '1.5',
    '-1',
    'proxy.internal',
    '10.0.0.0/255.0.0.0',
    Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`).join(','),
  ]) {
    test(`TESSERA_TRUST_PROXY=${value.slice(0, 40)} is refused, naming the variable`, () => {
      const message = failure({ TESSERA_TRUST_PROXY: value }).message;
      assert.match(message, /^TESSERA_TRUST_PROXY/);
      assert.doesNotMatch(message, /\n/);
    });
  }
});

describe('TESSERA_HOST: an address or a host name', () => {
  const host = (value: string) => loadConfig({ TESSERA_HOST: value }, '/srv/tessera').host;

  test('addresses and names are read as they are', () => {
    for (const value of [
      '127.0.0.1',
      '0.0.0.0',
      '::',
      '::1',
      '2001:db8::7',
      'localhost',
      'not-a-host',
      'tessera.internal',
      'node-1.eu-west.example.com.',
      'xn--bcher-kva.example',
    ]) {
      assert.equal(host(value), value);
    }
  });

  for (const value of [
    'not a host',
    'http://tessera.internal',
    'tessera.internal:8080',
    '[::1]',
    '127.0.0.1:8080',
    '1.2.3.999',
    '-tessera',
    'tessera-.internal',
    'tessera..internal',
    'tessera_internal',
    `${'a'.repeat(64)}.example`,
    `${'abcdefgh.'.repeat(28)}example`,
    '0.0.0.0/0',
  ]) {
    test(`TESSERA_HOST=${value.slice(0, 40)} is refused, naming the variable`, () => {
      const message = failure({ TESSERA_HOST: value }).message;
      assert.match(message, /^TESSERA_HOST must be an IP address/);
    });
  }
});

describe('a bad secret setting never has its value printed', () => {
  // Each value holds MARKER where a secret would be; the message must name the variable only.
  const MARKER = 'Zq7sEcReTmArKeR';
  const markedKey = Buffer.alloc(32, 7)
    .toString('base64')
    .replace(/^.{15}/, MARKER);
  const cases: [string, Record<string, string>][] = [
    ['TESSERA_MASTER_KEY', { TESSERA_MASTER_KEY: `${MARKER}==` }],
    ['TESSERA_MASTER_KEY', { TESSERA_MASTER_KEY: markedKey.slice(0, -4) }],
    ['TESSERA_NEW_MASTER_KEY', { TESSERA_NEW_MASTER_KEY: `${MARKER}==` }],
    ['TESSERA_MASTER_KEY', { TESSERA_MASTER_KEY: markedKey, TESSERA_MASTER_KEY_FILE: '/run/key' }],
    // The key itself where the file's path belongs: the "path" is a secret then.
    ['TESSERA_MASTER_KEY_FILE', { TESSERA_MASTER_KEY_FILE: markedKey }],
    ['TESSERA_NEW_MASTER_KEY_FILE', { TESSERA_NEW_MASTER_KEY_FILE: markedKey }],
    ['TESSERA_BOOTSTRAP_TOKEN', { TESSERA_BOOTSTRAP_TOKEN: `tsk_${MARKER}` }],
    ['TESSERA_BOOTSTRAP_TOKEN', { TESSERA_BOOTSTRAP_TOKEN: MARKER }],
    ['DATABASE_URL', { DATABASE_URL: `mysql://tessera:${MARKER}@db/tessera` }],
    ['DATABASE_URL', { DATABASE_URL: `postgres://tessera:${MARKER}@db:99999/tessera` }],
    ['DATABASE_URL', { DATABASE_URL: `tessera:${MARKER} at db` }],
    ['REDIS_URL', { REDIS_URL: `http://default:${MARKER}@cache:6379` }],
    ['REDIS_URL', { REDIS_URL: `redis://default:${MARKER}@cache:port` }],
  ];
  for (const [variable, env] of cases) {
    test(`${variable}=${Object.values(env)[0]?.replace(MARKER, '…').slice(0, 40)}`, () => {
      // The new master key is read by `tessera rekey`, through the same function as the current one.
      const read = () =>
        'TESSERA_NEW_MASTER_KEY' in env || 'TESSERA_NEW_MASTER_KEY_FILE' in env
          ? masterKeyFromEnv(env, 'TESSERA_NEW_MASTER_KEY')
          : loadConfig(env, '/srv/tessera');
      let error: unknown;
      try {
        read();
      } catch (thrown) {
        error = thrown;
      }
      assert.ok(error instanceof ConfigError, `not refused with a ConfigError: ${error}`);
      assert.ok(error.message.includes(variable), error.message);
      assert.ok(!error.message.includes(MARKER), `the value is in the message: ${error.message}`);
      assert.ok(!String(error.stack).includes(MARKER), 'the value is in the stack');
    });
  }

  test("a key file whose path merely has a key's shape is read as a file", () => {
    const dir = mkdtempSync(join(tmpdir(), 'k'));
    try {
      const file = join(dir, 'a'.repeat(43 - dir.length - 1));
      assert.ok(decodeMasterKey(file) !== undefined, `${file} should have a key's shape`);
      const key = randomBytes(32);
      writeFileSync(file, key.toString('base64'), { mode: 0o600 });
      assert.deepEqual(loadConfig({ TESSERA_MASTER_KEY_FILE: file }, '/srv/tessera').masterKey?.key, key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('TESSERA_METRICS_TOKEN: unset turns metrics off; a short or spaced token is refused, unquoted', () => {
  assert.equal(loadConfig({}, '/srv/tessera').metricsToken, undefined);
  const token = generateToken();
  assert.equal(loadConfig({ TESSERA_METRICS_TOKEN: token }, '/srv/tessera').metricsToken, token);
  for (const value of ['short-token', `${'a'.repeat(20)} ${'b'.repeat(20)}`, 'x'.repeat(257)]) {
    const error = failure({ TESSERA_METRICS_TOKEN: value });
    assert.match(error.message, /TESSERA_METRICS_TOKEN must be 32 to 256 printable characters/);
    assert.ok(!error.message.includes(value), 'the value is not in the message');
  }
});
