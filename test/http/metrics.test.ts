/**
 * `GET /metrics` (Prometheus): absent without TESSERA_METRICS_TOKEN; with it, for that token only;
 * the text parses, and its series move with the requests made, with no key's or secret's
 * identifier in any label.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createKey } from '../helpers/keys.js';
import { assertProblem } from '../helpers/problem.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { createSecret } from '../helpers/secrets.js';
import { useTestServer } from '../helpers/server.js';

describe('without TESSERA_METRICS_TOKEN', () => {
  const suite = useTestServer();
  test('/metrics is a 404, and the API reference does not list it', async () => {
    assertProblem(await suite.call('GET', '/metrics'), 404, 'NOT_FOUND');
    const document = await suite.call('GET', '/api/v1/openapi.json');
    assert.equal(document.body.paths['/metrics'], undefined);
  });
});

describe('with TESSERA_METRICS_TOKEN', () => {
  const token = generateToken();
  const suite = useTestServer({ app: { metrics: { metrics: createMetrics(), token } } });
  const scrape = async () => {
    const reply = await suite.call('GET', '/metrics', { token });
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    return { samples: parsePrometheusText(reply.text), text: reply.text };
  };

  test('only the metrics token reads them: no token, a wrong one or an API key is 401', async () => {
    for (const sent of [undefined, generateToken(), suite.server.adminToken]) {
      const reply = await suite.call('GET', '/metrics', sent === undefined ? {} : { token: sent });
      assertProblem(reply, 401, 'UNAUTHORIZED');
      assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
      assert.doesNotMatch(reply.text, /tessera_http_requests_total/);
    }
  });

  test('requests are counted by route pattern and status, and timed', async () => {
    const before = (await scrape()).samples;
    const series = { method: 'GET', route: '/api/v1/me', status: '200' };
    const key = await createKey(suite.server);
    for (let i = 0; i < 5; i++) {
      assert.equal((await suite.call('GET', '/api/v1/me', { token: key.apiKey })).status, 200);
    }
    await suite.call('GET', '/api/v1/me', { token: generateToken() });
    const after = (await scrape()).samples;
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    assert.equal(moved('tessera_http_requests_total', series), 5);
    assert.equal(
      moved('tessera_http_request_duration_seconds_count', { method: 'GET', route: '/api/v1/me' }),
      6,
    );
    assert.equal(moved('tessera_http_requests_total', { route: '/api/v1/me', status: '401' }), 1);
    assert.equal(moved('tessera_auth_failures_total'), 1);
    // The first look-up of the key missed the token cache; the next four hit it.
    assert.ok(moved('tessera_cache_lookups_total', { cache: 'tokens', result: 'hit' }) >= 4);
    assert.ok(moved('tessera_cache_lookups_total', { cache: 'tokens', result: 'miss' }) >= 1);
  });

  test('audited changes are timed to their commit', async () => {
    const before = sampleValue((await scrape()).samples, 'tessera_audit_commit_duration_seconds_count');
    await createSecret(suite.server);
    const after = sampleValue((await scrape()).samples, 'tessera_audit_commit_duration_seconds_count');
    assert.ok(after - before >= 1, `${after} - ${before}`);
  });

  test('no label holds what a client sent: no path, cid, tag or method of its own', async () => {
    const secret = await createSecret(suite.server);
    const key = await createKey(suite.server);
    await suite.call('GET', `/api/v1/secrets/${secret.tag}`, { token: suite.server.adminToken });
    await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken });
    await suite.call('GET', '/no/such/path-with-marker', { token: suite.server.adminToken });
    await suite.call('BREW', '/api/v1/me', { token: suite.server.adminToken });
    const { text, samples } = await scrape();
    for (const needle of [secret.tag, secret.id, key.cid, key.apiKey, 'path-with-marker', 'BREW']) {
      assert.ok(!text.includes(needle), `the metrics hold ${needle}`);
    }
    assert.ok(
      sampleValue(samples, 'tessera_http_requests_total', { route: 'unmatched', status: '404' }) >= 1,
    );
    assert.ok(
      sampleValue(samples, 'tessera_http_requests_total', { route: '/api/v1/secrets/:tagOrId' }) >= 1,
    );
  });
});
