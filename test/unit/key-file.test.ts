/**
 * readKeyFile (src/runtime/key-file.ts): a key file group or others may access stops start-up
 * with one line naming the file and the fix, as OpenSSH refuses a loose private key; owner-only
 * files are read; Windows, which has no such mode bits, is not checked.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { readKeyFile } from '../../src/runtime/key-file.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-key-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file holding `content` with exactly `mode` (chmod: the umask does not apply). */
function keyFile(name: string, mode: number, content = 'a key\n'): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

test('owner-only files are read: 0600, 0400', () => {
  assert.equal(readKeyFile(keyFile('k600', 0o600)), 'a key\n');
  assert.equal(readKeyFile(keyFile('k400', 0o400)), 'a key\n');
});

for (const mode of [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o666, 0o700 | 0o010]) {
  const octal = mode.toString(8).padStart(4, '0');
  test(`mode ${octal}: refused with one line naming the file, its mode and chmod 600`, () => {
    const file = keyFile(`k${octal}`, mode);
    assert.throws(
      () => readKeyFile(file, 'TESSERA_MASTER_KEY_FILE'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(
          error.message,
          `TESSERA_MASTER_KEY_FILE: ${file} is accessible by group or others (mode ${octal}): run chmod 600 ${file}`,
        );
        return true;
      },
    );
  });
}

test('the content is never in the refusal; a path with a space is quoted in the fix', () => {
  const file = keyFile('loose key', 0o644, 'c2VjcmV0LWtleS1tYXRlcmlhbA==');
  assert.throws(
    () => readKeyFile(file),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(error.message.startsWith(`${file} is accessible`), error.message);
      assert.ok(error.message.endsWith(`run chmod 600 '${file}'`), error.message);
      assert.ok(!error.message.includes('c2VjcmV0'), error.message);
      return true;
    },
  );
});

test('on Windows the mode is not checked', () => {
  assert.equal(readKeyFile(keyFile('kwin', 0o644), undefined, 'win32'), 'a key\n');
});

test('a file far larger than any key is refused without being read', () => {
  const file = keyFile('huge', 0o600, 'x'.repeat(1 << 20));
  assert.throws(() => readKeyFile(file), /too large to hold a key/);
});
