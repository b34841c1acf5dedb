import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressMatcher, parseAddressRange } from '../../src/domain/ip-ranges.js';

test('addresses and CIDR ranges of both families parse; anything else does not', () => {
  assert.deepEqual(parseAddressRange('192.0.2.7'), { family: 4, address: '192.0.2.7', prefix: 32 });
  assert.deepEqual(parseAddressRange('10.0.0.0/8'), { family: 4, address: '10.0.0.0', prefix: 8 });
  assert.deepEqual(parseAddressRange('0.0.0.0/0'), { family: 4, address: '0.0.0.0', prefix: 0 });
  assert.deepEqual(parseAddressRange('2001:db8::/32'), { family: 6, address: '2001:db8::', prefix: 32 });
  assert.deepEqual(parseAddressRange('::1'), { family: 6, address: '::1', prefix: 128 });
  for (const bad of [
    '',
    'localhost',
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0.0/',
    '10.0.0/8',
    'fe80::1%eth0',
    ' 10.0.0.1',
    `${'1'.repeat(60)}`,
  ]) {
    assert.equal(parseAddressRange(bad), undefined, bad);
  }
});

test('a matcher finds a client in any of its ranges, an IPv4 client seen as IPv6 included', () => {
  const matcher = AddressMatcher.of(['10.0.0.0/8', '2001:db8::/32', '127.0.0.1']);
  assert.equal(matcher.matches('10.200.3.4'), true);
  assert.equal(matcher.matches('::ffff:10.200.3.4'), true);
  assert.equal(matcher.matches('11.0.0.1'), false);
  assert.equal(matcher.matches('127.0.0.1'), true);
  assert.equal(matcher.matches('127.0.0.2'), false);
  assert.equal(matcher.matches('2001:db8:1::9'), true);
  assert.equal(matcher.matches('2001:db9::1'), false);
  assert.equal(matcher.matches('::1'), false);
  assert.equal(matcher.matches('not an address'), false);
  assert.equal(AddressMatcher.of(['0.0.0.0/0']).matches('203.0.113.9'), true);
  assert.throws(() => AddressMatcher.of(['example.com']), /not an IP address/);
});
