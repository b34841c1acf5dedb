import { TesseraClient } from '../../client/index.js';
import { resolveCredentials } from './credentials.js';

/** The SDK's client for the server and token the environment or `tessera login` gave. */
export function connectedClient(options: { retries?: number } = {}): TesseraClient {
  const { baseUrl, token } = resolveCredentials();
  return new TesseraClient({
    baseUrl,
    token,
    ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
  });
}

/** An async iterator drained into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
