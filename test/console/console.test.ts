/**
 * The web console in a real browser (Debian's Chromium, headless, through playwright-core)
 * against a real server on a real port: sign-in by keyboard, keys (create by keyboard and see the
 * token once, roll it, a page of 1000), secrets (reveal on click, hidden again after 30 s, copy
 * without showing), the audit log's filters, 401 and 403 paths, and where a token or a value may
 * never go. With UPDATE_SCREENSHOTS=1 the same tests write each page's screenshot to docs/console/.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  buildConsole,
  closeBrowser,
  NO_CHROMIUM,
  openPage,
  screenshot,
  tabTo,
  type Watched,
} from '../helpers/console.js';
import { createKey, deleteKey } from '../helpers/keys.js';
import { createRole } from '../helpers/roles.js';
import { createSecret, marker } from '../helpers/secrets.js';
import { type TestServer, useTestServer } from '../helpers/server.js';

if (NO_CHROMIUM !== undefined) {
  test('the console in a browser', { skip: NO_CHROMIUM }, () => {});
} else {
  const consoleDir = await buildConsole();
  const suite = useTestServer({ app: { consoleDir } });
  const opened: Watched[] = [];
  after(async () => {
    for (const { context } of opened) await context.close();
    await closeBrowser();
  });

  async function open(width?: number): Promise<Watched> {
    const watched = await openPage(width);
    opened.push(watched);
    return watched;
  }

  /** Signs in by filling the form (the keyboard-only path has a test of its own). */
  async function signIn(server: TestServer, token = server.adminToken, width?: number): Promise<Watched> {
    const watched = await open(width);
    await watched.page.goto(`${server.url}/`);
    await watched.page.getByLabel('API token').fill(token);
    await watched.page.getByRole('button', { name: 'Sign in' }).click();
    await watched.page.getByRole('button', { name: 'Sign out' }).waitFor();
    return watched;
  }

  const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  describe('signing in', () => {
    test('by keyboard alone: Tab to the token, type it, Enter; the overview names the key', async () => {
      const { page } = await open();
      await page.goto(`${suite.server.url}/`);
      assert.equal(new URL(page.url()).pathname, '/console/');
      await screenshot(page, 'sign-in');
      await tabTo(page, page.getByLabel('API token'));
      await page.keyboard.type(suite.server.adminToken);
      await page.keyboard.press('Enter');
      await heading(page, /^Signed in as /).waitFor();
      assert.equal(await page.getByRole('link', { name: 'API keys' }).count(), 1);
      await screenshot(page, 'overview');
    });

    test('an invalid token stays at sign-in with the reason; sign-out forgets the token', async () => {
      const { page } = await open();
      await page.goto(`${suite.server.url}/console/`);
      await page.getByLabel('API token').fill(`tsk_${'A'.repeat(49)}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // A malformed or unknown token: the API's own reason.
      await page
        .getByRole('alert')
        .filter({ hasText: /Malformed API key|Invalid API key/ })
        .waitFor();
      assert.equal(await page.evaluate('sessionStorage.length'), 0);

      const signedIn = await signIn(suite.server);
      assert.equal(await signedIn.page.evaluate('sessionStorage.length'), 1);
      await signedIn.page.getByRole('button', { name: 'Sign out' }).click();
      await signedIn.page.getByLabel('API token').waitFor();
      assert.equal(await signedIn.page.evaluate('sessionStorage.length'), 0);
    });

    test('401: a key deleted while signed in returns to sign-in, saying why', async () => {
      const key = await createKey(suite.server, { roles: ['ADMIN'] });
      const { page } = await signIn(suite.server, key.apiKey);
      await deleteKey(suite.server, key.cid);
      await page.getByRole('link', { name: 'Secrets' }).click();
      await page.getByRole('alert').filter({ hasText: 'Signed out: Invalid API key' }).waitFor();
      await page.getByLabel('API token').waitFor();
      assert.equal(await page.evaluate('sessionStorage.length'), 0);
    });

    test('403: a page the key may not use shows the missing permission and the request id', async () => {
      const key = await createKey(suite.server, { roles: ['USER'] });
      const { page } = await signIn(suite.server, key.apiKey);
      // Only what a USER key may do is offered...
      assert.equal(await page.getByRole('link', { name: 'API keys' }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Secrets' }).count(), 1);
      // ...and the API refuses the rest, which the page says.
      await page.goto(`${suite.server.url}/console/#/keys`);
      const alert = page
        .getByRole('alert')
        .filter({ hasText: 'This API key lacks the EDIT_API_KEYS permission' });
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /Request ID: req_[0-9A-Z]+/);
      await screenshot(page, 'forbidden');
    });
  });

  describe('keys', () => {
    test('created by keyboard alone: the token is shown once, with a copy button, then never again', async () => {
      const { page, context } = await signIn(suite.server);
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      await tabTo(page, page.getByRole('link', { name: 'API keys' }));
      await page.keyboard.press('Enter');
      await heading(page, 'API keys').waitFor();
      await tabTo(page, page.getByRole('button', { name: 'New key' }));
      await page.keyboard.press('Enter');
      await tabTo(page, page.getByLabel('Name', { exact: true }));
      await page.keyboard.type('deploy bot');
      await tabTo(page, page.getByLabel('Description (optional)'));
      await page.keyboard.type('made in the console');
      // USER is ticked by default: untick it, tick MANAGER.
      await tabTo(page, page.getByRole('checkbox', { name: 'USER' }));
      await page.keyboard.press('Space');
      await tabTo(page, page.getByRole('checkbox', { name: 'MANAGER' }));
      await page.keyboard.press('Space');
      await tabTo(page, page.getByLabel(/^Allowed IP addresses/));
      await page.keyboard.type('127.0.0.1');
      await tabTo(page, page.getByLabel(/^Rate limit/));
      await page.keyboard.type('600');
      await screenshot(page, 'key-create');
      await tabTo(page, page.getByRole('button', { name: 'Create key' }));
      await page.keyboard.press('Enter');

      const token = page.getByTestId('one-time-token');
      await token.waitFor();
      const shown = ((await token.textContent()) ?? '').trim();
      assert.match(shown, /^tsk_[0-9A-Za-z]{49}$/);
      await page.getByText('you will not see this token again').waitFor();
      await screenshot(page, 'key-token', { mask: [token] });
      await page.getByRole('button', { name: 'Copy token' }).click();
      await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), shown);

      // The token works, with what the form asked for.
      const me = await suite.call('GET', '/api/v1/me', { token: shown });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.name, 'deploy bot');
      assert.deepEqual(me.body.roles, [{ type: 'DEFAULT', role: 'MANAGER' }]);
      assert.deepEqual(me.body.allowedIps, ['127.0.0.1']);
      assert.equal(me.body.rateLimitPerMinute, 600);

      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.getByRole('link', { name: 'deploy bot' }).waitFor();
      assert.equal(await page.getByTestId('one-time-token').count(), 0);
      assert.equal(await page.content().then((html) => html.includes(shown)), false);
      await screenshot(page, 'keys');
    });

    test('rolled with a grace period: a new token once, the old one still works; edit and delete', async () => {
      const key = await createKey(suite.server, { name: 'to roll', roles: ['USER'] });
      const { page } = await signIn(suite.server);
      await page.goto(`${suite.server.url}/console/#/keys/${key.cid}`);
      await heading(page, 'Key to roll').waitFor();
      await page.getByLabel('The old token keeps working for').selectOption({ label: '1 hour' });
      await screenshot(page, 'key-detail');
      await page.getByRole('button', { name: 'Roll token' }).click();
      const token = page.getByTestId('one-time-token');
      await token.waitFor();
      const rolled = ((await token.textContent()) ?? '').trim();
      assert.notEqual(rolled, key.apiKey);
      assert.equal((await suite.call('GET', '/api/v1/me', { token: rolled })).status, 200);
      assert.equal(
        (await suite.call('GET', '/api/v1/me', { token: key.apiKey })).status,
        200,
        'the grace period',
      );
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page
        .getByText(`…${rolled.slice(-4)}`)
        .first()
        .waitFor();

      await page.getByLabel('Name', { exact: true }).fill('rolled');
      await page.getByLabel('Description', { exact: true }).fill('renamed in the console');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      const stored = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, {
        token: suite.server.adminToken,
      });
      assert.equal(stored.body.name, 'rolled');
      assert.equal(stored.body.description, 'renamed in the console');

      await page.getByRole('button', { name: 'Delete key…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the key “rolled”?' });
      await dialog.waitFor();
      await screenshot(page, 'key-delete');
      await dialog.getByRole('button', { name: 'Delete “rolled”' }).click();
      await heading(page, 'API keys').waitFor();
      const gone = await suite.call('GET', `/api/v1/auth/key/${key.cid}`, { token: suite.server.adminToken });
      assert.equal(gone.status, 404);
    });
  });

  describe('secrets', () => {
    test('created, revealed on click, hidden again after 30 s; copied without being shown', async () => {
      const value = marker();
      const { page, context, logs } = await signIn(suite.server);
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      await page.clock.install();
      await page.getByRole('link', { name: 'Secrets' }).click();
      await page.getByRole('button', { name: 'New secret' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Database password');
      await page.getByLabel(/^Tag/).fill('db-password');
      await page.getByLabel('Value').fill(value);
      await page.getByRole('button', { name: 'Create secret' }).click();
      await heading(page, 'Secret db-password').waitFor();
      assert.equal(
        (await page.content()).includes(value),
        false,
        'a value on the page before it was asked for',
      );
      await screenshot(page, 'secret');

      await page.getByRole('button', { name: 'Copy value without showing it' }).click();
      await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), value);
      assert.equal((await page.content()).includes(value), false, 'copying showed the value');

      // The page's clock stands still from here, as a background tab's animation frames do: the
      // 30 s count must start when the value is shown, not at the next frame.
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
      await page.getByRole('button', { name: 'Reveal current value' }).click();
      const revealed = page.getByTestId('revealed-value');
      await revealed.waitFor();
      assert.equal(((await revealed.textContent()) ?? '').trim(), value);
      await page.clock.fastForward(29_000);
      assert.equal(await revealed.count(), 1, 'hidden too early');
      await page.clock.fastForward(1_500);
      await revealed.waitFor({ state: 'detached' });
      assert.equal((await page.content()).includes(value), false);
      await page.getByRole('button', { name: 'Reveal current value' }).waitFor();
      await page.clock.resume();

      // A new value makes a new version, listed with who made it.
      await page.getByLabel(/^New value/).fill(marker());
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'a new version' }).waitFor();
      await page.getByRole('cell', { name: '2', exact: true }).waitFor();
      assert.deepEqual(
        logs.filter((line) => line.startsWith('pageerror')),
        [],
      );
    });

    test('listed and searched by tag or name; deleted after a confirmation naming it', async () => {
      await createSecret(suite.server, { tag: 'search-alpha', name: 'First' });
      await createSecret(suite.server, { tag: 'search-beta', name: 'Second' });
      const { page } = await signIn(suite.server);
      await page.goto(`${suite.server.url}/console/#/secrets`);
      await page.getByRole('link', { name: 'search-alpha' }).waitFor();
      await page.getByLabel('Search by tag or name').fill('second');
      await page.getByRole('link', { name: 'search-alpha' }).waitFor({ state: 'detached' });
      await page.getByRole('link', { name: 'search-beta' }).waitFor();
      await screenshot(page, 'secrets');
      await page.getByRole('link', { name: 'search-beta' }).click();
      await page.getByRole('button', { name: 'Delete secret…' }).click();
      await page
        .getByRole('dialog', { name: 'Delete the secret “search-beta”?' })
        .getByRole('button', {
          name: 'Delete “search-beta”',
        })
        .click();
      await heading(page, 'Secrets').waitFor();
      const gone = await suite.call('GET', '/api/v1/secrets/search-beta', { token: suite.server.adminToken });
      assert.equal(gone.status, 404);
    });
  });

  describe('roles and the audit log', () => {
    test('a role is created with permissions and secret patterns', async () => {
      const { page } = await signIn(suite.server);
      await page.goto(`${suite.server.url}/console/#/roles`);
      await page.getByRole('button', { name: 'New role' }).click();
      await page.getByLabel(/^Tag/).fill('deploy-ci');
      await page.getByLabel('Name', { exact: true }).fill('Deploy CI');
      await page.getByRole('checkbox', { name: 'READ_SECRET_VALUES' }).check();
      await page.getByLabel(/^Secret tag patterns/).fill('deploy-*');
      await page.getByRole('button', { name: 'Create role' }).click();
      await page.getByRole('cell', { name: 'deploy-*' }).waitFor();
      await screenshot(page, 'roles');
      const role = await suite.call('GET', '/api/v1/roles/deploy-ci', { token: suite.server.adminToken });
      assert.deepEqual(role.body.permissions, ['READ_SECRET_VALUES']);
      assert.deepEqual(role.body.secretTags, ['deploy-*']);
    });

    test('the audit log filtered by action and object type', async () => {
      await createSecret(suite.server, { tag: 'audited' });
      await createRole(suite.server, { tag: 'audited-role' });
      const { page } = await signIn(suite.server);
      await page.getByRole('link', { name: 'Audit log' }).click();
      await heading(page, 'Audit log').waitFor();
      await page.getByRole('cell', { name: 'ROLE audited-role' }).first().waitFor();
      await page.getByRole('checkbox', { name: 'CREATE' }).check();
      await page.getByRole('checkbox', { name: 'SECRET' }).check();
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByRole('cell', { name: 'ROLE audited-role' }).first().waitFor({ state: 'detached' });
      await page.getByRole('cell', { name: 'SECRET audited' }).first().waitFor();
      const rows = await page
        .locator('tbody tr')
        .evaluateAll((trs) =>
          trs.map((tr) => [tr.children[1]?.textContent, tr.children[2]?.textContent?.split(' ')[0]]),
        );
      assert.ok(rows.length > 0);
      for (const [action, objectType] of rows) assert.deepEqual([action, objectType], ['CREATE', 'SECRET']);
      await screenshot(page, 'audit');
    });
  });

  describe('a page of 1000 keys', () => {
    test('renders without a stall', async () => {
      const made = 1000;
      for (let start = 0; start < made; start += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) => createKey(suite.server, { name: `bulk-${start + i}` })),
        );
      }
      const { page } = await signIn(suite.server);
      await page.goto(`${suite.server.url}/console/#/keys`);
      await page.getByLabel('Per page').selectOption('1000');
      const began = Date.now();
      await page.locator('tbody tr').nth(999).waitFor();
      const rendered = Date.now() - began;
      console.log(`# a page of 1000 keys: fetched and rendered in ${rendered} ms`);
      // Searching the loaded page re-renders at once too.
      await page.getByLabel('Search keys').fill('bulk-500');
      await page.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
      assert.equal(await page.locator('tbody tr').count(), 1);
      // Generous: a shared two-core CI machine; a stall would be many seconds.
      assert.ok(rendered < 5000, `${rendered} ms`);
    });
  });

  describe('on a phone', () => {
    test('390 px wide: every page fits the width (tables scroll inside their own frame)', async () => {
      const { page } = await signIn(suite.server, suite.server.adminToken, 390);
      for (const [path, title] of [
        ['', /^Signed in as /],
        ['keys', 'API keys'],
        ['secrets', 'Secrets'],
        ['audit', 'Audit log'],
      ] as const) {
        await page.goto(`${suite.server.url}/console/#/${path}`);
        await heading(page, title).waitFor();
        const width = await page.evaluate('document.documentElement.scrollWidth');
        assert.ok((width as number) <= 390, `#/${path} is ${width} px wide`);
        if (path === 'keys') await screenshot(page, 'keys-390', { fullPage: false });
      }
    });
  });

  describe('where a token or a value may go', () => {
    test('never to localStorage, cookies, the URL or the console log; the token only to sessionStorage', async () => {
      const value = marker();
      await createSecret(suite.server, { tag: 'leak-check', secret: value });
      const { page, context, logs } = await signIn(suite.server);
      const urls: string[] = [];
      page.on('framenavigated', (frame) => urls.push(frame.url()));
      page.on('request', (request) => urls.push(request.url()));
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('button', { name: 'New key' }).click();
      await page.getByLabel('Name', { exact: true }).fill('leak check');
      await page.getByRole('button', { name: 'Create key' }).click();
      const created = ((await page.getByTestId('one-time-token').textContent()) ?? '').trim();
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.goto(`${suite.server.url}/console/#/secrets/leak-check`);
      await page.getByRole('button', { name: 'Reveal current value' }).click();
      await page.getByTestId('revealed-value').waitFor();
      await page.reload();
      await heading(page, 'Secret leak-check').waitFor();

      const storage = (await page.evaluate(
        '({ local: Object.entries(localStorage), session: Object.entries(sessionStorage), cookie: document.cookie })',
      )) as { local: [string, string][]; session: [string, string][]; cookie: string };
      assert.deepEqual(storage.local, []);
      assert.equal(storage.cookie, '');
      assert.deepEqual(await context.cookies(), []);
      assert.deepEqual(storage.session, [['tessera.console.token', suite.server.adminToken]]);
      const secrets = {
        'the admin token': suite.server.adminToken,
        'a created token': created,
        'a value': value,
      };
      for (const [label, secret] of Object.entries(secrets)) {
        for (const url of [...urls, page.url()])
          assert.equal(url.includes(secret), false, `${label} in ${url}`);
        for (const line of logs)
          assert.equal(line.includes(secret), false, `${label} in the console log: ${line}`);
      }
    });
  });

  describe('the IP allowlist', () => {
    test('the editor waits for the saved list, so an answer arriving late never wipes what is being typed', async () => {
      const { page } = await signIn(suite.server);
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route(
        (url) => url.pathname === '/api/v1/ip-allowlist',
        async (route) => {
          if (route.request().method() === 'GET') await held;
          await route.continue();
        },
      );
      await page.getByRole('link', { name: 'IP allowlist' }).click();
      await page.getByText('Loading…').waitFor();
      assert.equal(
        await page.getByRole('button', { name: 'Add entry' }).count(),
        0,
        'editable before the list loaded',
      );
      release();
      await page.getByRole('button', { name: 'Add entry' }).click();
      await page.getByLabel('Address or range 1').fill('198.51.100.7');
      await page.getByText('Loading…').waitFor({ state: 'detached' });
      assert.equal(await page.getByLabel('Address or range 1').inputValue(), '198.51.100.7');
    });

    test('a list without your own address warns of the lockout; forced, the next call is refused', async () => {
      const { page } = await signIn(suite.server);
      await page.getByRole('link', { name: 'IP allowlist' }).click();
      await page.getByRole('button', { name: 'Add entry' }).click();
      await page.getByLabel('Address or range 1').fill('198.51.100.0/24');
      await page.getByLabel('Description 1').fill('office');
      await page.getByRole('button', { name: 'Validate' }).click();
      await page.getByText('valid', { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Save list' }).click();
      const warning = page.getByRole('alert').filter({ hasText: 'This list would lock you out' });
      await warning.waitFor();
      assert.match((await warning.textContent()) ?? '', /does not contain your address 127\.0\.0\.1/);
      await screenshot(page, 'allowlist');
      const unchanged = await suite.call('GET', '/api/v1/ip-allowlist', { token: suite.server.adminToken });
      assert.equal(unchanged.body.total, 0);

      await page.getByRole('button', { name: 'Save anyway (force) and lock myself out' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: 'Requests from 127.0.0.1 are not allowed by the IP allowlist' })
        .waitFor();
    });
  });
}
