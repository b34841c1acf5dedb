/**
 * Checks a write-storm ledger against a restarted server, through the API only: every
 * acknowledged secret reveals its latest acknowledged value (or the value of a write that was
 * never answered), every acknowledged key authenticates unless an acknowledged delete removed it,
 * and acknowledged deletes stay deleted. Unanswered writes are settled by what is observed, so the
 * next round starts from certain knowledge again.
 */
import { request } from './child-server.js';
import type { Reply } from './http.js';
import type { Ledger, TrackedKey, TrackedSecret } from './write-storm.js';

export interface RecoveryReport {
  /** One line per object whose state contradicts what the clients were told. */
  problems: string[];
  /** Secrets and keys whose state matches the ledger (the objects of acknowledged writes among them). */
  consistent: Set<string>;
  /** Unanswered writes seen to have landed, and seen not to have. */
  landed: number;
  notLanded: number;
}

/** Runs `tasks` with at most `width` at a time. */
async function inParallel(tasks: (() => Promise<void>)[], width: number) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

export async function checkRecovery(
  url: string,
  adminToken: string,
  ledger: Ledger,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { problems: [], consistent: new Set(), landed: 0, notLanded: 0 };
  const reveal = (tag: string) =>
    request(url, 'GET', `/api/v1/secrets/${tag}/value`, { token: adminToken, timeoutMs: 10_000 });
  const describe = (reply: Reply) =>
    reply.status === 200
      ? `value ${JSON.stringify(reply.body?.value)}`
      : `${reply.status} ${reply.text.slice(0, 200)}`;

  async function checkSecret(secret: TrackedSecret) {
    const open = secret.unanswered;
    secret.unanswered = undefined;
    const reply = await reveal(secret.tag);
    const value = reply.status === 200 ? (reply.body?.value as unknown) : undefined;
    if (secret.deleted) {
      if (reply.status === 404) report.consistent.add(secret.tag);
      else
        report.problems.push(
          `secret ${secret.tag}: deleted (acknowledged) but reveal gave ${describe(reply)}`,
        );
      return;
    }
    if (reply.status === 404 && open?.kind === 'delete') {
      secret.deleted = true;
      report.landed += 1;
      report.consistent.add(secret.tag);
      return;
    }
    if (value === secret.value) {
      if (open !== undefined) report.notLanded += 1;
      report.consistent.add(secret.tag);
      return;
    }
    if (open?.kind === 'update' && value === open.value) {
      secret.value = open.value;
      report.landed += 1;
      report.consistent.add(secret.tag);
      return;
    }
    report.problems.push(
      `secret ${secret.tag}: expected the acknowledged value ${JSON.stringify(secret.value)}` +
        `${open?.kind === 'update' ? ` or the unanswered ${JSON.stringify(open.value)}` : ''}` +
        `${open?.kind === 'delete' ? ' or 404 (unanswered delete)' : ''}, got ${describe(reply)}`,
    );
  }

  async function checkUnansweredCreate(create: Ledger['unansweredCreates'][number]) {
    const reply = await reveal(create.tag);
    if (reply.status === 404) {
      report.notLanded += 1;
    } else if (reply.status === 200 && reply.body?.value === create.value && reply.body?.version === 1) {
      report.landed += 1;
      ledger.secrets.set(create.tag, {
        tag: create.tag,
        owner: create.owner,
        value: create.value,
        deleted: false,
      });
    } else {
      // A secret row without its version, or with another value, is a partial write.
      report.problems.push(
        `secret ${create.tag} (create unanswered): expected 404 or version 1 with ${JSON.stringify(create.value)}, got ${describe(reply)}`,
      );
    }
  }

  async function checkKey(key: TrackedKey) {
    const open = key.unansweredDelete;
    key.unansweredDelete = false;
    const reply = await request(url, 'GET', '/api/v1/me', { token: key.token, timeoutMs: 10_000 });
    const works = reply.status === 200 && reply.body?.cid === key.cid;
    if (key.deleted) {
      if (reply.status === 401) report.consistent.add(key.cid);
      else report.problems.push(`key ${key.cid}: deleted (acknowledged) but /me gave ${describe(reply)}`);
      return;
    }
    if (works) {
      if (open) report.notLanded += 1;
      report.consistent.add(key.cid);
    } else if (open && reply.status === 401) {
      key.deleted = true;
      report.landed += 1;
      report.consistent.add(key.cid);
    } else {
      report.problems.push(`key ${key.cid}: created (acknowledged) but /me gave ${describe(reply)}`);
    }
  }

  const creates = ledger.unansweredCreates.splice(0);
  ledger.unansweredKeyCreates = 0;
  await inParallel(
    [
      ...[...ledger.secrets.values()].map((secret) => () => checkSecret(secret)),
      ...creates.map((create) => () => checkUnansweredCreate(create)),
      ...[...ledger.keys.values()].map((key) => () => checkKey(key)),
    ],
    16,
  );
  return report;
}
