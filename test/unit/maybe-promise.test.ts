/** andThen: a value that is there is used at once; a promise is waited for; throws stay throws. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { andThen } from '../../src/runtime/maybe-promise.js';

test('a value that is there runs the next step at once and returns its result', () => {
  const steps: string[] = [];
  const result = andThen(2, (n) => {
    steps.push('next');
    return n * 3;
  });
  steps.push('after');
  assert.equal(result, 6);
  assert.deepEqual(steps, ['next', 'after']);
});

test('a promise runs the next step once it settles', async () => {
  const steps: string[] = [];
  const result = andThen(Promise.resolve(2), (n) => {
    steps.push('next');
    return n * 3;
  });
  steps.push('after');
  assert.ok(result instanceof Promise);
  assert.equal(await result, 6);
  assert.deepEqual(steps, ['after', 'next']);
});

test('steps chain through both kinds, and the chain is a promise once one step is', async () => {
  const sync = andThen(1, (a) => andThen(a + 1, (b) => b * 10));
  assert.equal(sync, 20);
  const mixed = andThen(1, (a) => andThen(Promise.resolve(a + 1), (b) => b * 10));
  assert.ok(mixed instanceof Promise);
  assert.equal(await mixed, 20);
});

test('a throw is a throw on the value path and a rejection on the promise path', async () => {
  const boom = () => {
    throw new Error('refused');
  };
  assert.throws(() => andThen(undefined, boom), /refused/);
  await assert.rejects(Promise.resolve(andThen(Promise.resolve(undefined), boom)), /refused/);
  await assert.rejects(Promise.resolve(andThen(Promise.reject(new Error('upstream')), boom)), /upstream/);
});
