/**
 * The SDK (`tessera/client`) against a real server on a real port: each group of calls, lists
 * walked page by page, errors as TesseraProblem with their fields, 429 and 503 retried as
 * Retry-After asks and no longer than allowed, time limits, and a server that cannot be reached.
 * The 503s come from a small HTTP front of the test's own that answers 503 a set number of times
 * before passing calls on to the real server.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { TesseraClient, TesseraProblem, TesseraUnreachable } from '../../src/client/index.js';
import { freePort } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';
import { marker } from '../helpers/secrets.js';
import { registerSensitive } from '../helpers/sensitive.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe(`the SDK (${testDialect()})`, () => {
  const suite = useTestServer();
  const admin = () => new TesseraClient({ baseUrl: suite.server.url, token: suite.server.adminToken });

  test('TESSERA_URL and TESSERA_TOKEN are the defaults; neither given is a clear error', async () => {
    const saved = { url: process.env.TESSERA_URL, token: process.env.TESSERA_TOKEN };
    try {
      process.env.TESSERA_URL = suite.server.url;
      process.env.TESSERA_TOKEN = suite.server.adminToken;
      assert.equal((await new TesseraClient().me()).name, 'bootstrap');
      delete process.env.TESSERA_TOKEN;
      assert.throws(() => new TesseraClient(), /no token: pass token or set TESSERA_TOKEN/);
      delete process.env.TESSERA_URL;
      assert.throws(() => new TesseraClient({ token: 'x' }), /no base URL/);
      assert.throws(() => new TesseraClient({ baseUrl: 'ftp://x', token: 'x' }), /http:\/\/ or https:\/\//);
      assert.throws(
        () => new TesseraClient({ baseUrl: 'http://user:pw@127.0.0.1', token: 'x' }),
        /may not hold a user name or password/,
      );
    } finally {
      for (const [name, value] of [
        ['TESSERA_URL', saved.url],
        ['TESSERA_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  test('secrets: create, get, update, list (every page), versions, reveal, bulk reveal, getSecretValue, delete', async () => {
    const client = admin();
    const prefix = `sdk${marker(6).toLowerCase()}-`;
    const tags = [0, 1, 2, 3, 4].map((i) => `${prefix}${i}`);
    const values = tags.map(() => marker());
    for (const [i, tag] of tags.entries()) {
      registerSensitive(values[i] as string, 'secret value');
      const created = await client.secrets.create({ tag, name: `n${i}`, secret: values[i] as string });
      assert.equal(created.tag, tag);
    }
    // Two items a page: three pages walked, each item once, oldest first.
    const listed = (await collect(client.secrets.list({ pageSize: 2 }))).filter((s) =>
      s.tag.startsWith(prefix),
    );
    assert.deepEqual(
      listed.map((s) => s.tag),
      tags,
    );
    const next = marker();
    registerSensitive(next, 'secret value');
    await client.secrets.update(tags[0] as string, { secret: next });
    assert.deepEqual(
      (await collect(client.secrets.versions(tags[0] as string, { pageSize: 1 }))).map((v) => v.version),
      [1, 2],
    );
    assert.equal((await client.secrets.reveal(tags[0] as string, { version: 1 })).value, values[0]);
    assert.equal(await client.getSecretValue(tags[0] as string), next);
    const many = await client.secrets.revealMany({ tagPrefix: prefix });
    assert.deepEqual(
      many.map((v) => [v.tag, v.value]),
      tags.map((tag, i) => [tag, i === 0 ? next : values[i]]),
    );
    assert.equal((await client.secrets.revealMany({ tags: [tags[2] as string] }))[0]?.value, values[2]);
    assert.equal((await client.secrets.get(tags[1] as string)).name, 'n1');
    assert.equal(await client.secrets.delete(tags[1] as string), undefined);
    await assert.rejects(client.secrets.get(tags[1] as string), (error: unknown) => {
      assert.ok(error instanceof TesseraProblem);
      assert.equal(error.status, 404);
      assert.equal(error.type, 'NOT_FOUND');
      assert.match(error.detail, new RegExp(tags[1] as string));
      assert.equal(error.message, error.detail);
      assert.match(error.requestId ?? '', /^req_/);
      return true;
    });
  });

  test('an invalid request: a TesseraProblem with its violations', async () => {
    await assert.rejects(
      admin().secrets.create({ tag: 'no spaces allowed', name: '', secret: 'x' }),
      (error: unknown) => {
        assert.ok(error instanceof TesseraProblem);
        assert.equal(error.status, 400);
        assert.equal(error.type, 'BAD_REQUEST');
        assert.ok(error.violations.length >= 1);
        assert.ok(error.violations.every((v) => v.pointer.startsWith('/body/')));
        return true;
      },
    );
  });

  test('keys, roles, me, the IP allowlist and the audit log', async () => {
    const client = admin();
    const role = `sdk-role-${marker(6).toLowerCase()}`;
    const made = await client.roles.create({
      tag: role,
      name: 'SDK role',
      permissions: ['READ_SECRET_VALUES'],
      secretTags: ['app-*'],
    });
    assert.equal(made.tag, role);
    assert.equal((await client.roles.get(role)).name, 'SDK role');
    assert.equal(
      (await client.roles.update(role, { name: 'SDK role 2', permissions: ['READ_SECRET_VALUES'] })).name,
      'SDK role 2',
    );
    assert.ok((await collect(client.roles.list())).some((r) => r.tag === role));

    const key = await client.keys.create({ name: 'sdk-ci', roles: [{ type: 'CUSTOM', tag: role }] });
    registerSensitive(key.apiKey, 'token');
    const scoped = new TesseraClient({ baseUrl: suite.server.url, token: key.apiKey });
    const me = await scoped.me();
    assert.equal(me.cid, key.cid);
    assert.equal((await client.keys.get(key.cid)).name, 'sdk-ci');
    assert.equal((await client.keys.update(key.cid, { name: 'sdk-ci-2' })).name, 'sdk-ci-2');
    assert.ok((await collect(client.keys.list({ pageSize: 1 }))).some((k) => k.cid === key.cid));
    const rolled = await client.keys.roll(key.cid, { expireOldAfterSeconds: 0 });
    registerSensitive(rolled.apiKey, 'token');
    assert.equal(
      (await new TesseraClient({ baseUrl: suite.server.url, token: rolled.apiKey }).me()).cid,
      key.cid,
    );
    await assert.rejects(
      scoped.me(),
      (error: unknown) => error instanceof TesseraProblem && error.status === 401,
    );
    await client.keys.delete(key.cid);
    await client.roles.delete(role);

    assert.deepEqual(await collect(client.ipAllowlist.entries()), []);
    const validated = await client.ipAllowlist.validate({ entries: [{ address: '10.0.0.0/8' }] });
    assert.ok(validated !== undefined);
    await client.ipAllowlist.replace({ entries: [] });

    const events = await collect(client.auditLogs.list({ objectIdentifiers: role }, { pageSize: 1 }));
    assert.ok(events.length >= 2, 'the role was created and deleted');
  });

  test('429 with a Retry-After longer than allowed is thrown at once, with retryAfter', async () => {
    const limited = await startTestServer({ rateLimitPerMinute: 2 });
    try {
      const client = new TesseraClient({ baseUrl: limited.url, token: limited.adminToken });
      await client.me();
      await client.me();
      const started = performance.now();
      await assert.rejects(client.me(), (error: unknown) => {
        assert.ok(error instanceof TesseraProblem);
        assert.equal(error.status, 429);
        assert.ok((error.retryAfter ?? 0) > 10, `retryAfter ${error.retryAfter}`);
        return true;
      });
      // Not waited for: the server asked for more than the longest wait (10 s).
      assert.ok(performance.now() - started < 5_000);
    } finally {
      await limited.close();
    }
  });

  describe('503s in front of the server', () => {
    let front: Server;
    let frontUrl = '';
    let refusals = 0;
    let seen: number[] = [];
    before(async () => {
      front = createServer((request, response) => {
        seen.push(performance.now());
        if (refusals > 0) {
          refusals -= 1;
          response.writeHead(503, {
            'content-type': 'application/problem+json',
            'retry-after': '1',
            'x-request-id': 'req_front',
          });
          response.end(
            JSON.stringify({
              type: 'SERVICE_UNAVAILABLE',
              status: 503,
              detail: 'Storage is unavailable',
              requestId: 'req_front',
            }),
          );
          return;
        }
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', async () => {
          const headers = Object.fromEntries(
            Object.entries(request.headers).filter(
              (entry): entry is [string, string] => typeof entry[1] === 'string',
            ),
          );
          delete headers.host;
          const reply = await fetch(suite.server.url + (request.url ?? '/'), {
            method: request.method ?? 'GET',
            headers,
            body: chunks.length === 0 ? undefined : Buffer.concat(chunks),
          });
          response.writeHead(reply.status, {
            'content-type': reply.headers.get('content-type') ?? 'text/plain',
          });
          response.end(Buffer.from(await reply.arrayBuffer()));
        });
      });
      await new Promise<void>((done) => front.listen(0, '127.0.0.1', done));
      frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((done) => front.close(() => done())));

    test('retried after the Retry-After each one gives, then answered', async () => {
      refusals = 2;
      seen = [];
      const me = await new TesseraClient({ baseUrl: frontUrl, token: suite.server.adminToken }).me();
      assert.equal(me.name, 'bootstrap');
      assert.equal(seen.length, 3);
      // Retry-After: 1 is honoured (a second between tries, not the 250 ms back-off).
      assert.ok((seen[1] as number) - (seen[0] as number) >= 950);
      assert.ok((seen[2] as number) - (seen[1] as number) >= 950);
    });

    test('no more retries than allowed: then the 503 is thrown', async () => {
      refusals = 5;
      seen = [];
      const client = new TesseraClient({
        baseUrl: frontUrl,
        token: suite.server.adminToken,
        retry: { retries: 1 },
      });
      await assert.rejects(client.me(), (error: unknown) => {
        assert.ok(error instanceof TesseraProblem);
        assert.equal(error.status, 503);
        assert.equal(error.requestId, 'req_front');
        return true;
      });
      assert.equal(seen.length, 2);
      refusals = 0;
    });
  });

  test('a server that does not answer in time, or cannot be reached: TesseraUnreachable, no token in it', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(suite.server.url).port) });
    try {
      proxy.blackhole();
      const token = suite.server.adminToken;
      const slow = new TesseraClient({ baseUrl: `http://127.0.0.1:${proxy.port}`, token, timeoutMs: 300 });
      await assert.rejects(slow.me(), (error: unknown) => {
        assert.ok(error instanceof TesseraUnreachable);
        assert.match(error.message, /^http:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms$/);
        return true;
      });
      const aborted = new AbortController();
      const pending = slow.me({ signal: aborted.signal });
      aborted.abort(new Error('stopped by the caller'));
      await assert.rejects(pending, /stopped by the caller/);
    } finally {
      await proxy.stop();
    }
    const port = await freePort();
    await assert.rejects(
      new TesseraClient({ baseUrl: `http://127.0.0.1:${port}`, token: suite.server.adminToken }).me(),
      (error: unknown) => {
        assert.ok(error instanceof TesseraUnreachable);
        assert.equal(error.message, `http://127.0.0.1:${port} could not be reached (ECONNREFUSED)`);
        return true;
      },
    );
  });
});
