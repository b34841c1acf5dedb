/**
 * How Tessera serves the web console, over plain HTTP: `/` redirects to /console/, the page and
 * its assets carry the console's strict policy and the API's other security headers, hashed
 * assets are cached for a year and the page never, the build holds nothing inline, a missing
 * build answers 503 saying how to make one, and the IP allowlist gates the console as it gates
 * everything but the health probes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildConsole } from '../helpers/console.js';
import { assertProblem } from '../helpers/problem.js';
import { useTestServer } from '../helpers/server.js';

const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const consoleDir = await buildConsole();

/** A GET that does not follow redirects. */
async function get(base: string, path: string, headers: Record<string, string> = {}) {
  return fetch(base + path, { redirect: 'manual', headers });
}

function assertSecurityHeaders(response: Response, label: string) {
  for (const [name, value] of Object.entries(SECURITY)) {
    assert.equal(response.headers.get(name), value, `${label}: ${name}`);
  }
  assert.ok(response.headers.get('x-request-id'), `${label}: x-request-id`);
}

describe('a built console', () => {
  const suite = useTestServer({ app: { consoleDir } });

  test('/ redirects to /console/ with 302; /console serves the page too', async () => {
    const root = await get(suite.server.url, '/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    assert.equal(root.headers.get('cache-control'), 'no-store');
    const bare = await get(suite.server.url, '/console');
    assert.equal(bare.status, 200);
    assert.equal(await bare.text(), readFileSync(join(consoleDir, 'index.html'), 'utf8'));
  });

  test('the page: HTML, the strict policy, the security headers, revalidated every time', async () => {
    const page = await get(suite.server.url, '/console/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assertSecurityHeaders(page, 'index.html');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const html = await page.text();
    assert.match(html, /<div id="app"><\/div>/);
  });

  test('nothing inline: every script and style is a file of this origin', async () => {
    const html = await (await get(suite.server.url, '/console/')).text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1, html);
    for (const [, attributes, body] of scripts) {
      assert.match(
        attributes ?? '',
        /\bsrc="\/console\/assets\/[^"]+\.js"/,
        `script without src: ${attributes}`,
      );
      assert.equal(body?.trim(), '', 'an inline script body');
    }
    assert.doesNotMatch(html, /<style\b/i, 'an inline <style>');
    assert.doesNotMatch(html, /\sstyle=/i, 'an inline style attribute');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'an inline event handler');
    assert.doesNotMatch(html, /https?:\/\//, 'a URL of another origin');
  });

  test('hashed assets: immutable for a year, with the policy and the security headers', async () => {
    const assets = readdirSync(join(consoleDir, 'assets'));
    assert.ok(
      assets.some((name) => name.endsWith('.js')) && assets.some((name) => name.endsWith('.css')),
      `${assets}`,
    );
    for (const name of assets) {
      assert.match(name, /-[A-Za-z0-9_-]{8,}\.(js|css)$/, `${name} is not content-hashed`);
      const asset = await get(suite.server.url, `/console/assets/${name}`);
      assert.equal(asset.status, 200, name);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable', name);
      assertSecurityHeaders(asset, name);
      assert.equal(await asset.text(), readFileSync(join(consoleDir, 'assets', name), 'utf8'));
    }
  });

  test('a file that is not there: 404, not cached', async () => {
    const missing = await get(suite.server.url, '/console/assets/nothing-here.js');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('cache-control'), 'no-store');
    for (const path of ['/console/.env', '/console/../package.json', '/console/%2e%2e/package.json']) {
      const refused = await get(suite.server.url, path);
      assert.ok([400, 403, 404].includes(refused.status), `${path}: ${refused.status}`);
      assert.doesNotMatch(await refused.text(), /"dependencies"/, path);
    }
  });

  test('the API keeps its own headers beside the console', async () => {
    const reply = await get(suite.server.url, '/api/v1/me');
    assert.equal(reply.status, 401);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(reply.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
  });
});

describe('the IP allowlist gates the console', () => {
  const suite = useTestServer({ app: { trustProxy: 1, consoleDir } });

  test('an address off the list cannot load the page; one on it can', async () => {
    const saved = await suite.call('PUT', '/api/v1/ip-allowlist?force=true', {
      token: suite.server.adminToken,
      body: { entries: [{ address: '192.0.2.0/24' }] },
      headers: { 'x-forwarded-for': '192.0.2.1' },
    });
    assert.equal(saved.status, 200, saved.text);
    const refused = await get(suite.server.url, '/console/', { 'x-forwarded-for': '198.51.100.7' });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    const admitted = await get(suite.server.url, '/console/', { 'x-forwarded-for': '192.0.2.1' });
    assert.equal(admitted.status, 200);
  });
});

describe('a console that has not been built', () => {
  const suite = useTestServer({ app: { consoleDir: '/nonexistent/tessera-console' } });

  test('answers 503 saying to run `npm run build`, and the API still serves', async () => {
    for (const path of ['/console/', '/console', '/console/assets/index.js']) {
      const reply = await suite.call('GET', path);
      assertProblem(reply, 503, 'SERVICE_UNAVAILABLE');
      assert.match(reply.body.detail, /npm run build/, path);
    }
    assert.equal((await suite.call('GET', '/api/v1/me', { token: suite.server.adminToken })).status, 200);
    assert.equal((await get(suite.server.url, '/')).status, 302);
  });
});
