/**
 * The web console in tests: built once per test process with Vite into a temporary folder (the
 * server under test serves that build through its `consoleDir` option), and Debian's Chromium,
 * driven headless by playwright-core. Without /usr/bin/chromium (a laptop) the browser tests skip
 * with one line; CI installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

export const CHROMIUM = '/usr/bin/chromium';
/** The skip reason of every browser test when Chromium is missing (undefined when it is there). */
export const NO_CHROMIUM = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM} (apt-get install -y chromium): the console's browser tests are skipped`;

const WEB = fileURLToPath(new URL('../../web', import.meta.url));
/** Where UPDATE_SCREENSHOTS=1 writes the pages' screenshots, which docs/console.md shows. */
const SCREENSHOTS = fileURLToPath(new URL('../../docs/console', import.meta.url));

let built: Promise<string> | undefined;

/** The console built from web/ into a temporary folder, once per process; removed when the process's tests end. */
export function buildConsole(): Promise<string> {
  built ??= (async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'tessera-console-')), 'console');
    after(() => rmSync(join(outDir, '..'), { recursive: true, force: true }));
    await build({ root: WEB, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    return outDir;
  })();
  return built;
}

let browser: Promise<Browser> | undefined;

/** One headless Chromium per test process; the file's top-level `after` calls closeBrowser. */
export function launchBrowser(): Promise<Browser> {
  browser ??= chromium.launch({ executablePath: CHROMIUM, headless: true });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await (await browser)?.close();
  browser = undefined;
}

/** What a page printed to its console, and any uncaught error: a token or value must never appear there. */
export interface Watched {
  context: BrowserContext;
  page: Page;
  logs: string[];
}

/** A fresh browser context (no storage shared with other tests) and page, 1280 px wide unless told. */
export async function openPage(width = 1280): Promise<Watched> {
  const context = await (await launchBrowser()).newContext({ viewport: { width, height: 900 } });
  // A control that never appears fails its test in seconds, not Playwright's default 30 s.
  context.setDefaultTimeout(8_000);
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  return { context, page, logs };
}

/**
 * Presses Tab (and nothing else) until `target` has the focus: how a keyboard user reaches a
 * control. Fails after `limit` presses, which means the control cannot be reached by keyboard.
 */
export async function tabTo(page: Page, target: ReturnType<Page['locator']>, limit = 60): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    if (
      await target.evaluate((element) => element === element.ownerDocument.activeElement).catch(() => false)
    )
      return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`could not reach ${target} with ${limit} presses of Tab`);
}

/** With UPDATE_SCREENSHOTS=1 only: the page as docs/console/<name>.png (never in a normal run). */
export async function screenshot(
  page: Page,
  name: string,
  options: { mask?: ReturnType<Page['locator']>[]; fullPage?: boolean } = {},
) {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}.png`),
    fullPage: options.fullPage ?? true,
    mask: options.mask ?? [],
  });
}
