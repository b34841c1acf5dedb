import { parseArgs } from 'node:util';
import { TesseraClient } from '../../client/index.js';
import { checkedUrl, removeCredentials, storeCredentials } from './credentials.js';
import { UsageError } from './output.js';
import { ask, askHidden } from './prompt.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

/**
 * `tessera login [--url URL]`: asks for the token (no echo), checks it against the server (GET
 * /api/v1/me: a token the server refuses is not stored), then stores URL and token.
 */
export async function runLogin(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { url: { type: 'string' } }, strict: true });
  let url = values.url ?? process.env.TESSERA_URL;
  if (url === undefined || url === '') {
    url = process.stdin.isTTY
      ? (await ask(`Tessera URL [${DEFAULT_URL}]: `)).trim() || DEFAULT_URL
      : DEFAULT_URL;
  }
  const baseUrl = checkedUrl(url, '--url');
  const token = (await askHidden('Token (not shown): ')).trim();
  if (token === '') throw new UsageError('no token given');
  const me = await new TesseraClient({ baseUrl, token }).me();
  const file = storeCredentials({ baseUrl, token });
  process.stderr.write(`Logged in to ${baseUrl} as ${me.name} (${me.cid}); stored in ${file}\n`);
  return 0;
}

/** `tessera logout`: removes the stored URL and token. */
export async function runLogout(args: string[]): Promise<number> {
  parseArgs({ args, options: {}, strict: true });
  process.stderr.write(removeCredentials() ? 'Logged out: the stored token is removed\n' : 'Not logged in\n');
  return 0;
}
