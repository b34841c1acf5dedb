import { randomBytes } from 'node:crypto';
import type { Operation } from './rate-driver.js';

/**
 * The soak's request mix: mostly reads, as a credentials store serves them (token checks, secret
 * look-ups, value reveals, lists), plus writes that churn data: value updates (bounded by the
 * versions kept per secret), secrets and keys created and deleted again (the created ones live a
 * little while, so the data stays about the same size), and a created key's first use (a token
 * cache miss). Every write and reveal is audited, so the audit log grows as in production.
 *
 * The mix is a fixed cycle of 100 operations, interleaved, so any stretch of the run has the same
 * proportions.
 */
export const MIX_WEIGHTS = {
  'GET /me': 22,
  'GET secret': 18,
  'GET secret value': 14,
  'GET secrets list': 8,
  'GET keys list': 4,
  'GET audit-logs': 2,
  'PUT secret value': 6,
  'POST secret': 7,
  'DELETE secret': 7,
  'POST key': 4,
  'GET /me (new key)': 4,
  'DELETE key': 4,
} as const;
export type OperationName = keyof typeof MIX_WEIGHTS;

export interface MixKeys {
  /** Tokens of ADMIN keys (reveal, keys, audit), USER keys (secrets) and MANAGER keys (audit). */
  admin: string[];
  user: string[];
  manager: string[];
}

/**
 * Created secrets and keys are deleted once this many newer ones exist, so the pools hover around
 * this size. A key lives about 8 s at the default rate: longer than any reply may take (10 s is a
 * timeout), so its first use (the newest key, below) has finished before it is deleted.
 */
const POOL_TARGET = 100;

/** The cycle: each name as often as its weight, spread evenly (largest remainder first). */
function cycle(): OperationName[] {
  const names = Object.keys(MIX_WEIGHTS) as OperationName[];
  const slots: { name: OperationName; at: number }[] = [];
  for (const name of names) {
    const weight = MIX_WEIGHTS[name];
    for (let i = 0; i < weight; i++) slots.push({ name, at: (i + 0.5) / weight });
  }
  return slots.sort((a, b) => a.at - b.at).map((s) => s.name);
}

/**
 * The next operation, forever. `tags` are the secrets made before the run (read, revealed and
 * updated throughout).
 */
export function createMix(keys: MixKeys, tags: readonly string[]): () => Operation {
  const order = cycle();
  const run = randomBytes(3).toString('hex');
  let step = 0;
  let made = 0;
  /** Round-robin per list (tokens, tags): one counter each, so every tag is read, revealed and updated. */
  const turns = new Map<readonly unknown[], number>();
  const pick = <T>(list: readonly T[]): T => {
    const turn = turns.get(list) ?? 0;
    turns.set(list, turn + 1);
    return list[turn % list.length] as T;
  };
  /** Secrets and keys this run created and has not deleted yet, oldest first. */
  const secrets: string[] = [];
  const createdKeys: { cid: string; token: string }[] = [];
  /** Keys created but not used yet: their first call misses the token cache. */
  const unused: string[] = [];

  const createSecret = (): Operation => {
    made += 1;
    const tag = `soak-${run}-${made}`;
    return {
      name: 'POST secret',
      call: {
        method: 'POST',
        path: '/api/v1/secrets',
        token: pick(keys.user),
        body: { name: `Soak secret ${made}`, tag, secret: randomBytes(24).toString('base64') },
      },
      onSuccess: () => secrets.push(tag),
    };
  };
  const createKey = (): Operation => {
    made += 1;
    return {
      name: 'POST key',
      call: {
        method: 'POST',
        path: '/api/v1/auth/key',
        token: pick(keys.admin),
        body: { name: `soak key ${made}`, roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
      },
      onSuccess: (body: { cid: string; apiKey: string }) => {
        createdKeys.push({ cid: body.cid, token: body.apiKey });
        unused.push(body.apiKey);
      },
    };
  };

  const build: Record<OperationName, () => Operation> = {
    'GET /me': () => ({
      name: 'GET /me',
      call: { method: 'GET', path: '/api/v1/me', token: pick(keys.user) },
    }),
    'GET secret': () => ({
      name: 'GET secret',
      call: { method: 'GET', path: `/api/v1/secrets/${pick(tags)}`, token: pick(keys.user) },
    }),
    'GET secret value': () => ({
      name: 'GET secret value',
      call: { method: 'GET', path: `/api/v1/secrets/${pick(tags)}/value`, token: pick(keys.admin) },
    }),
    'GET secrets list': () => ({
      name: 'GET secrets list',
      call: { method: 'GET', path: '/api/v1/secrets?pageSize=50', token: pick(keys.user) },
    }),
    'GET keys list': () => ({
      name: 'GET keys list',
      call: { method: 'GET', path: '/api/v1/auth/key?pageSize=50', token: pick(keys.admin) },
    }),
    'GET audit-logs': () => ({
      name: 'GET audit-logs',
      call: { method: 'GET', path: '/api/v1/audit-logs?pageSize=20', token: pick(keys.manager) },
    }),
    'PUT secret value': () => ({
      name: 'PUT secret value',
      call: {
        method: 'PUT',
        path: `/api/v1/secrets/${pick(tags)}`,
        token: pick(keys.user),
        body: { secret: randomBytes(24).toString('base64') },
      },
    }),
    'POST secret': createSecret,
    'DELETE secret': () => {
      // Too few made yet (the start, or creates still in flight): make one instead.
      if (secrets.length <= POOL_TARGET) return createSecret();
      const tag = secrets.shift() as string;
      return {
        name: 'DELETE secret',
        call: { method: 'DELETE', path: `/api/v1/secrets/${tag}`, token: pick(keys.user) },
      };
    },
    'POST key': createKey,
    'GET /me (new key)': () => {
      // The newest key, far from deletion (the oldest goes first).
      const token = unused.pop();
      if (token === undefined) return build['GET /me']();
      return { name: 'GET /me (new key)', call: { method: 'GET', path: '/api/v1/me', token } };
    },
    'DELETE key': () => {
      if (createdKeys.length <= POOL_TARGET) return createKey();
      const { cid, token } = createdKeys.shift() as { cid: string; token: string };
      const stillUnused = unused.indexOf(token);
      if (stillUnused >= 0) unused.splice(stillUnused, 1);
      return {
        name: 'DELETE key',
        call: { method: 'DELETE', path: `/api/v1/auth/key/${cid}`, token: pick(keys.admin) },
      };
    },
  };

  return () => {
    const name = order[step % order.length] as OperationName;
    step += 1;
    return build[name]();
  };
}
