/**
 * A storm of concurrent writes against a running server, and a ledger of what the clients know
 * for certain: a write counts as acknowledged only once its 200 response has fully arrived. A write
 * whose connection broke (the server was killed) may or may not have landed; the ledger keeps what
 * it would have written so a later check can accept either outcome, but nothing else.
 *
 * Each secret and key belongs to one client, and each client sends one request at a time, so the
 * writes to any one object are ordered and "its latest acknowledged value" is well defined.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { request } from './child-server.js';
import type { Reply } from './http.js';
import { marker } from './secrets.js';

export type WriteKind = 'secret-create' | 'secret-update' | 'secret-delete' | 'key-create' | 'key-delete';

/** What a write leaves in the audit log (SPEC: every change is recorded in its own transaction). */
const AUDIT_OF: Record<WriteKind, { action: string; objectType: string }> = {
  'secret-create': { action: 'CREATE', objectType: 'SECRET' },
  'secret-update': { action: 'UPDATE', objectType: 'SECRET' },
  'secret-delete': { action: 'DELETE', objectType: 'SECRET' },
  'key-create': { action: 'CREATE', objectType: 'API_KEY' },
  'key-delete': { action: 'DELETE', objectType: 'API_KEY' },
};

/** An acknowledged write: its 200 arrived in full. */
export interface AckedWrite {
  kind: WriteKind;
  /** The secret's tag or the key's cid (the audit event's object id). */
  objectId: string;
  /** From the response's x-request-id: the audit event carries it. */
  requestId: string;
  action: string;
  objectType: string;
}

export interface TrackedSecret {
  tag: string;
  owner: number;
  /** The latest acknowledged value. */
  value: string;
  deleted: boolean;
  /** A write sent but never answered (the server died): either outcome is allowed. */
  unanswered?: { kind: 'update'; value: string } | { kind: 'delete' };
}

export interface TrackedKey {
  cid: string;
  token: string;
  owner: number;
  deleted: boolean;
  /** A delete sent but never answered. */
  unansweredDelete: boolean;
}

/** Everything the clients know, across kill/restart rounds. */
export interface Ledger {
  secrets: Map<string, TrackedSecret>;
  keys: Map<string, TrackedKey>;
  /** Secret creates sent but never answered: the secret may exist, with exactly this value. */
  unansweredCreates: { tag: string; value: string; owner: number }[];
  /** Key creates never answered: their token never reached us, so only storage checks see them. */
  unansweredKeyCreates: number;
}

export function newLedger(): Ledger {
  return { secrets: new Map(), keys: new Map(), unansweredCreates: [], unansweredKeyCreates: 0 };
}

export interface StormOptions {
  url: string;
  /** An ADMIN token: it may create and delete USER keys and write secrets. */
  token: string;
  clients: number;
  /** How long the storm runs before `kill` is called, counted from the first acknowledged write. */
  durationMs: number;
  /** Kills the server (resolves once it is gone); the storm stops sending first. */
  kill: () => Promise<void>;
  /** Tags carry this prefix, so rounds never reuse one. */
  tagPrefix: string;
}

export interface StormResult {
  acked: AckedWrite[];
  /** Requests outstanding when the kill was sent (some may still be answered before the process dies). */
  inFlightAtKill: number;
  /** Writes whose connection broke at the kill. */
  unanswered: number;
  /** Anything but a 200 while the server was up, or a broken call before the kill: each is a finding. */
  unexpected: string[];
}

const FIRST_ACK_WITHIN_MS = 10_000;

type Op =
  | { kind: 'secret-create'; tag: string; value: string }
  | { kind: 'secret-update'; secret: TrackedSecret; value: string }
  | { kind: 'secret-delete'; secret: TrackedSecret }
  | { kind: 'key-create' }
  | { kind: 'key-delete'; key: TrackedKey };

/** The mix: mostly value writes (the encrypted, multi-row path), with key churn alongside. */
function pickOp(ledger: Ledger, owner: number, tagPrefix: string, serial: number): Op {
  const secrets = [...ledger.secrets.values()].filter((s) => s.owner === owner && !s.deleted);
  const keys = [...ledger.keys.values()].filter((k) => k.owner === owner && !k.deleted);
  const roll = randomInt(100);
  if (roll < 35 && secrets.length > 0) {
    return {
      kind: 'secret-update',
      secret: secrets[randomInt(secrets.length)] as TrackedSecret,
      value: marker(),
    };
  }
  if (roll < 40 && secrets.length > 1) {
    return { kind: 'secret-delete', secret: secrets[randomInt(secrets.length)] as TrackedSecret };
  }
  if (roll < 60) return { kind: 'key-create' };
  if (roll < 72 && keys.length > 0)
    return { kind: 'key-delete', key: keys[randomInt(keys.length)] as TrackedKey };
  return { kind: 'secret-create', tag: `${tagPrefix}-c${owner}-${serial}`, value: marker() };
}

function send(url: string, token: string, op: Op): Promise<Reply> {
  // Generous bound: the storm is about crashes, not latency; a hang still ends the test.
  const timeoutMs = 10_000;
  switch (op.kind) {
    case 'secret-create':
      return request(url, 'POST', '/api/v1/secrets', {
        token,
        timeoutMs,
        body: { name: `crash ${op.tag}`, tag: op.tag, secret: op.value },
      });
    case 'secret-update':
      return request(url, 'PUT', `/api/v1/secrets/${op.secret.tag}`, {
        token,
        timeoutMs,
        body: { secret: op.value },
      });
    case 'secret-delete':
      return request(url, 'DELETE', `/api/v1/secrets/${op.secret.tag}`, { token, timeoutMs });
    case 'key-create':
      return request(url, 'POST', '/api/v1/auth/key', {
        token,
        timeoutMs,
        body: {
          name: `crash-key-${randomBytes(4).toString('hex')}`,
          roles: [{ type: 'DEFAULT', role: 'USER' }],
        },
      });
    case 'key-delete':
      return request(url, 'DELETE', `/api/v1/auth/key/${op.key.cid}`, { token, timeoutMs });
  }
}

/** Records an acknowledged write in the ledger; returns the object it wrote. */
function acknowledge(ledger: Ledger, owner: number, op: Op, reply: Reply): string {
  switch (op.kind) {
    case 'secret-create':
      ledger.secrets.set(op.tag, { tag: op.tag, owner, value: op.value, deleted: false });
      return op.tag;
    case 'secret-update':
      op.secret.value = op.value;
      return op.secret.tag;
    case 'secret-delete':
      op.secret.deleted = true;
      return op.secret.tag;
    case 'key-create': {
      const { cid, apiKey } = reply.body as { cid: string; apiKey: string };
      ledger.keys.set(cid, { cid, token: apiKey, owner, deleted: false, unansweredDelete: false });
      return cid;
    }
    case 'key-delete':
      op.key.deleted = true;
      return op.key.cid;
  }
}

/** Records a write that was sent but never answered: either outcome stays allowed. */
function leaveOpen(ledger: Ledger, owner: number, op: Op) {
  switch (op.kind) {
    case 'secret-create':
      ledger.unansweredCreates.push({ tag: op.tag, value: op.value, owner });
      break;
    case 'secret-update':
      op.secret.unanswered = { kind: 'update', value: op.value };
      break;
    case 'secret-delete':
      op.secret.unanswered = { kind: 'delete' };
      break;
    case 'key-create':
      ledger.unansweredKeyCreates += 1;
      break;
    case 'key-delete':
      op.key.unansweredDelete = true;
      break;
  }
}

/**
 * Runs `clients` concurrent writers for `durationMs`, then calls `kill` while they are mid-request,
 * and waits until every writer has seen its last call end. The clock starts at the first
 * acknowledged write, so a slow start on a busy machine does not eat the storm.
 */
export async function runStorm(ledger: Ledger, options: StormOptions): Promise<StormResult> {
  const acked: AckedWrite[] = [];
  const unexpected: string[] = [];
  let unanswered = 0;
  let outstanding = 0;
  let killing = false;
  let started!: () => void;
  const firstAck = new Promise<void>((done) => {
    started = done;
  });

  async function writer(owner: number) {
    for (let serial = 0; !killing; serial++) {
      const op = pickOp(ledger, owner, options.tagPrefix, serial);
      let reply: Reply;
      outstanding += 1;
      try {
        reply = await send(options.url, options.token, op);
      } catch (error) {
        if (killing) {
          unanswered += 1;
          leaveOpen(ledger, owner, op);
          continue;
        }
        // A finding: this writer stops here rather than spin on a broken server.
        unexpected.push(`${op.kind} failed with the server up: ${String(error)}`);
        return;
      } finally {
        outstanding -= 1;
      }
      if (reply.status !== 200) {
        unexpected.push(`${op.kind} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
        return;
      }
      const objectId = acknowledge(ledger, owner, op, reply);
      acked.push({
        kind: op.kind,
        objectId,
        requestId: reply.headers.get('x-request-id') ?? '',
        ...AUDIT_OF[op.kind],
      });
      started();
    }
  }

  const writers = Array.from({ length: options.clients }, (_, owner) => writer(owner));
  // If nothing is ever acknowledged, `unexpected` says why; the storm still ends.
  const giveUp = setTimeout(started, FIRST_ACK_WITHIN_MS);
  await firstAck;
  clearTimeout(giveUp);
  // A sleep: the storm lasts this long whatever happens meanwhile.
  await new Promise((done) => setTimeout(done, options.durationMs));
  // Writers send nothing new from here on; whatever is outstanding when the process dies is unanswered.
  killing = true;
  const inFlightAtKill = outstanding;
  await options.kill();
  await Promise.all(writers);
  return { acked, inFlightAtKill, unanswered, unexpected };
}
