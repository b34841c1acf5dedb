import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/runtime/heap-growth.js';

test('the server bounds heap growth unless node was given its own bound', () => {
  assert.equal(heapGrowthFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapGrowthFlag(['--enable-source-maps']), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  assert.equal(heapGrowthFlag(['--heap-growing-percent=300']), undefined);
  assert.equal(heapGrowthFlag(['--heap-growing-percent', '300']), undefined);
});

test('the flag is one this node accepts', () => {
  // An unknown V8 flag is ignored without a word at run time; on the command line it is refused.
  const run = spawnSync(process.execPath, [heapGrowthFlag([]) as string, '-e', '0'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
  const bogus = spawnSync(process.execPath, ['--heap-growing-percentage=100', '-e', '0'], {
    encoding: 'utf8',
  });
  assert.notEqual(bogus.status, 0, 'a misspelt flag would be refused, so the first check means something');
});
