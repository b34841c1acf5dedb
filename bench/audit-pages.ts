// Time audit-log pages at the start, deep inside and at the end of a large log, unfiltered and
// filtered: AUDIT_EVENTS events (default 200,000) written straight into SQLite in a temporary
// folder, then GET /api/v1/audit-logs through the whole app (app.inject: access, the query and
// the body's writing), pageSize 250, the median of AUDIT_RUNS calls (default 30) per page.
// Usage: node --import tsx bench/audit-pages.ts
import { sql } from 'kysely';
import { generateToken } from '../src/crypto/tokens.js';
import { inProcessApp } from './lib/in-process-app.js';

const events = Number(process.env.AUDIT_EVENTS ?? 200_000);
const runs = Number(process.env.AUDIT_RUNS ?? 30);
const PAGE = 250;

const { server, apiKeys, store, closeApp, removeStorage } = await inProcessApp('audit-pages');
const token = generateToken();
await apiKeys.bootstrap(token);
// Reads and changes of secrets and keys, a second apart; the hashes are not checked here.
await sql`
  with recursive n(i) as (select 1 union all select i + 1 from n where i < ${events})
  insert into audit_events (seq, occurred_at, actor_type, actor_id, action, object_type, object_id,
                            ip, user_agent, request_id, outcome, detail, prev_hash, hash)
  select i + 1, strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i, 'unixepoch'), 'API_KEY', 'ak0123456789abcdef',
         case i % 4 when 0 then 'CREATE' when 1 then 'READ' when 2 then 'UPDATE' else 'DELETE' end,
         case i % 3 when 0 then 'API_KEY' else 'SECRET' end, 'secret-' || i, '10.0.0.' || (i % 200),
         'bench/1.0', 'req_' || i, 'SUCCESS', null, 'prev', 'hash'
  from n`.execute(store.db);

async function median(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const started = performance.now();
    const reply = await server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    if (reply.statusCode !== 200) throw new Error(`${url}: ${reply.statusCode} ${reply.body}`);
    if (i >= 3) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const last = Math.floor(events / PAGE);
for (const [label, query] of [
  ['first page', 'page=0'],
  ['middle page', `page=${Math.floor(last / 2)}`],
  ['last page', `page=${last}`],
  ['first page, actions=READ', 'page=0&actions=READ'],
  ['middle page, actions=READ', `page=${Math.floor(last / 8)}&actions=READ`],
] as const) {
  const ms = await median(`/api/v1/audit-logs?pageSize=${PAGE}&${query}`);
  console.log(`${events} events, ${label}: ${ms.toFixed(2)} ms (median of ${runs})`);
}
await closeApp();
await removeStorage();
