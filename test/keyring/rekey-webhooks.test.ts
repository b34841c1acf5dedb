/**
 * `tessera rekey` re-wraps webhook signing secrets too: they are sealed like secret values, so a
 * rotation that left them under the old key would make them unopenable once that key retires.
 * After a rotation and a restart on the new key alone, deliveries still carry a signature made
 * with the secret the create answer showed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { masterKeyFrom } from '../../src/crypto/master-key.js';
import { rekey } from '../../src/features/keyring/rekey.js';
import { eventually } from '../helpers/eventually.js';
import { keptDataFor } from '../helpers/kept-data.js';
import { createKey } from '../helpers/keys.js';
import { createWebhook, signatureVerifies, startReceiver } from '../helpers/webhooks.js';

const K1 = randomBytes(32);
const K2 = randomBytes(32);

test('a rotation re-wraps webhook secrets; the retired key is not needed to sign', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.stop());
  const data = keptDataFor(t);
  const onK1 = await data.start(K1);
  const webhooks = await Promise.all(
    [0, 1, 2].map(() => createWebhook(onK1, receiver.url, ['api_key.created'])),
  );
  const wrappedBy = async () =>
    (await onK1.store.db.selectFrom('webhooks').select('master_key_id').execute()).map(
      (r) => r.master_key_id,
    );
  assert.deepEqual(await wrappedBy(), [masterKeyFrom(K1).id, masterKeyFrom(K1).id, masterKeyFrom(K1).id]);

  const progress: string[] = [];
  const { rewrapped } = await rekey({
    store: onK1.store,
    current: masterKeyFrom(K1),
    next: masterKeyFrom(K2),
    graceMs: 0,
    onProgress: (p) => progress.push(p.message),
  });
  assert.equal(rewrapped, 3, progress.join('; '));
  assert.deepEqual(await wrappedBy(), [masterKeyFrom(K2).id, masterKeyFrom(K2).id, masterKeyFrom(K2).id]);
  const states = await onK1.store.db.selectFrom('master_keys').select(['key_id', 'state']).execute();
  assert.equal(states.find((s) => s.key_id === masterKeyFrom(K1).id)?.state, 'retired');

  // The old key is retired: a start with it is refused, and the new one alone signs.
  await data.refused(K1);
  const onK2 = await data.start(K2);
  const key = await createKey(onK2, { name: 'after the rotation' });
  await eventually('every webhook got the event', () => {
    const got = receiver.received.filter((e) => e.json.object.id === key.cid);
    return got.length === webhooks.length ? got : undefined;
  });
  for (const webhook of webhooks) {
    const delivered = receiver.received.filter(
      (e) => e.json.object.id === key.cid && signatureVerifies(webhook.secret, e),
    );
    assert.equal(delivered.length, 1, `webhook ${webhook.id} signs with its own secret`);
  }
});
