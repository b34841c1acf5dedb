// How many audit rows one anonymous client can add: it sends requests without a credential, or
// with a malformed or unknown one, to a protected route as fast as 16 connections allow for
// DENIAL_SECONDS (default 60, one whole denial window), from one address; then the server closes
// gracefully (writing any counts) and the rows are counted. SQLite in a temporary folder.
// Usage: node --import tsx bench/denial-rows.ts [seconds]
import { generateToken } from '../src/crypto/tokens.js';
import { inProcessApp } from './lib/in-process-app.js';

const seconds = Number(process.argv[2] ?? process.env.DENIAL_SECONDS ?? 60);
const CONNECTIONS = 16;

const { server, apiKeys, store, closeApp, removeStorage } = await inProcessApp('denial-rows');
await apiKeys.bootstrap(generateToken());
const url = await server.listen({ host: '127.0.0.1', port: 0 });

const countRows = async () => {
  const { n } = await store.db
    .selectFrom('audit_events')
    .where('outcome', '=', 'DENIED')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
};

const ways: Record<string, string>[] = [
  {},
  { authorization: 'Bearer tsk_malformed' },
  { authorization: `Bearer ${generateToken()}` },
];
const deadline = Date.now() + seconds * 1000;
let sent = 0;
await Promise.all(
  Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < deadline) {
      const response = await fetch(`${url}/api/v1/secrets`, { headers: ways[sent % ways.length] });
      await response.arrayBuffer();
      if (response.status !== 401) throw new Error(`expected 401, got ${response.status}`);
      sent += 1;
    }
  }),
);
const beforeClose = await countRows();
await closeApp();
const rows = await countRows();
await removeStorage();
console.log(
  JSON.stringify({
    seconds,
    requests: sent,
    deniedRows: rows,
    rowsBeforeClose: beforeClose,
    rowsPerMinute: Math.round((rows * 60) / seconds),
  }),
);
