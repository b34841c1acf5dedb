/**
 * What the client does with the change feed, against a real server: `tessera run --watch`
 * restarts its command within 2 seconds of a change to one of its secrets (a command that ignores
 * SIGTERM too, by SIGKILL after the grace), and not for a change to another; the SDK's
 * `getSecretValue` cache answers from memory until the feed reports a change, then asks again.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TesseraClient } from '../../src/client/index.js';
import { auditLogs } from '../helpers/audit.js';
import { clientCli } from '../helpers/client-cli.js';
import { testDialect } from '../helpers/database.js';
import { eventually } from '../helpers/eventually.js';
import { changeValue, createSecret, marker, uniqueTag } from '../helpers/secrets.js';
import { registerSensitive } from '../helpers/sensitive.js';
import { useTestServer } from '../helpers/server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** Prints `started <value>` and runs until ended; with `stubborn`, SIGTERM does not end it. */
const watched = (variable: string, stubborn = false) => [
  '--',
  process.execPath,
  '-e',
  `${stubborn ? "process.on('SIGTERM', () => {}); " : ''}console.log('started ' + process.env.${variable}); setInterval(() => {}, 1000);`,
];

const envName = (tag: string) => tag.toUpperCase().replaceAll('-', '_');

describe(`the change feed in the client (${testDialect()})`, () => {
  const suite = useTestServer();

  /** A fresh value, registered for the leak scan. */
  const fresh = () => {
    const value = marker();
    registerSensitive(value, 'secret value');
    return value;
  };

  for (const stubborn of [false, true]) {
    test(`run --watch restarts the command within 2 s of a change${stubborn ? ' (SIGKILL after the grace when SIGTERM is ignored)' : ''}; not for other secrets`, async (t) => {
      const watchedTag = uniqueTag('watched');
      const otherTag = uniqueTag('other');
      const first = await createSecret(suite.server, { tag: watchedTag });
      await createSecret(suite.server, { tag: otherTag });
      const cli = clientCli(suite.server.url, suite.server.adminToken);
      const { child, done } = cli.spawn(
        [
          'run',
          '--watch',
          '--tags',
          watchedTag,
          '--grace-seconds',
          '0.5',
          ...watched(envName(watchedTag), stubborn),
        ],
        { prints: true },
      );
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      try {
        await eventually('the first run', () => out.includes(`started ${first.value}`), { withinMs: 30_000 });
        // Another secret's change restarts nothing (the feed reports it; the run ignores it).
        await changeValue(suite.server, otherTag, fresh());
        const second = fresh();
        const changedAt = performance.now();
        await changeValue(suite.server, watchedTag, second);
        await eventually('the restart with the new value', () => out.includes(`started ${second}`), {
          withinMs: 10_000,
          everyMs: 10,
        });
        const restartMs = performance.now() - changedAt;
        t.diagnostic(`restarted ${restartMs.toFixed(0)} ms after the change`);
        assert.ok(restartMs < 2_000, `restarted ${restartMs.toFixed(0)} ms after the change`);
        assert.equal(out.split('started ').length - 1, 2, out);
      } finally {
        // SIGINT, which neither command handles: passed on, it ends the command, then tessera.
        child.kill('SIGINT');
      }
      const result = await done;
      assert.equal(result.status, 128 + 2, result.stderr);
    });
  }

  test('run --watch --fallback: started from the snapshot while the server is away, restarted with the new values once it is back', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(suite.server.url).port) });
    try {
      const tag = uniqueTag('away');
      const first = await createSecret(suite.server, { tag });
      const cli = clientCli(`http://127.0.0.1:${proxy.port}`, suite.server.adminToken);
      const env = { TESSERA_FALLBACK_PASSPHRASE: `passphrase-${marker(16)}` };
      const file = join(cli.configHome, 'snapshot');
      const saved = await cli.run(['run', '--tags', tag, '--fallback', file, '--', 'true'], { env });
      assert.equal(saved.status, 0, saved.stderr);
      await proxy.stop();
      const { child, done } = cli.spawn(
        ['run', '--watch', '--tags', tag, '--fallback', file, ...watched(envName(tag))],
        {
          env,
          prints: true,
        },
      );
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      try {
        await eventually('the run from the snapshot', () => out.includes(`started ${first.value}`), {
          withinMs: 30_000,
        });
        const second = fresh();
        await changeValue(suite.server, tag, second);
        await proxy.start();
        await eventually('the restart once the server is back', () => out.includes(`started ${second}`), {
          withinMs: 15_000,
        });
      } finally {
        child.kill('SIGINT');
      }
      const result = await done;
      assert.equal(result.status, 128 + 2);
      assert.match(result.stderr, /running with the fallback snapshot saved at/);
      assert.match(
        result.stderr,
        /watching for changes: .* could not be reached \(ECONNREFUSED\); trying again/,
      );
    } finally {
      await proxy.stop();
    }
  });

  test('the SDK follows the feed: changes() gives a cursor, watch() each batch after it', async () => {
    const client = new TesseraClient({ baseUrl: suite.server.url, token: suite.server.adminToken });
    const { cursor, changes } = await client.secrets.changes();
    assert.deepEqual(changes, []);
    const secret = await createSecret(suite.server, { tag: uniqueTag('fed') });
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const batch of client.secrets.watch({ since: cursor, waitSeconds: 5, signal: stop.signal })) {
      seen.push(...batch.map((change) => `${change.action} ${change.tag}`));
      if (seen.length === 1) await changeValue(suite.server, secret.tag, fresh());
      if (seen.length >= 2) break;
    }
    assert.deepEqual(seen, [`CREATE ${secret.tag}`, `UPDATE ${secret.tag}`]);
  });

  test('getSecretValue with cacheSecretValues: from memory until the feed reports a change', async () => {
    const secret = await createSecret(suite.server, { tag: uniqueTag('cached') });
    const client = new TesseraClient({
      baseUrl: suite.server.url,
      token: suite.server.adminToken,
      cacheSecretValues: true,
    });
    const reveals = async () =>
      (await auditLogs(suite.server, { objectIdentifiers: secret.tag, actions: 'READ' })).total;
    try {
      for (let i = 0; i < 5; i += 1) assert.equal(await client.getSecretValue(secret.tag), secret.value);
      assert.equal(await reveals(), 1, 'five reads, one reveal');
      const next = fresh();
      await changeValue(suite.server, secret.tag, next);
      await eventually(
        'the cache drops the changed value',
        async () => (await client.getSecretValue(secret.tag)) === next,
      );
      assert.equal(await reveals(), 2);
    } finally {
      client.close();
    }
  });
});
