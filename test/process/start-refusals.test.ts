/**
 * Start-up refusals and key files, through the real `tessera` command: `keygen --out` writes an
 * owner-only key file and never overwrites one; `serve` refuses a key file group or others may
 * read, a listen host that does not resolve and TESSERA_TRUST_PROXY=true, each with one line
 * naming the setting (and, for a file, the fix), before anything is written to the data folder;
 * the same key file at 0600 starts. Process-level behaviour is the same on both dialects, so this
 * runs in the SQLite pass only.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeMasterKey, generateMasterKey } from '../../src/crypto/master-key.js';
import { freePort, runTessera, spawnServer } from '../helpers/child-server.js';
import { testDialect } from '../helpers/database.js';

const skip = testDialect() === 'sqlite' ? false : 'start-up refusals run in the SQLite pass only';

const folders: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-refusals-'));
  folders.push(dir);
  return dir;
}
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** `tessera serve` with `env` must exit 1 at once, printing one line; that line is returned. */
async function refusedStart(env: Record<string, string>): Promise<string> {
  const port = String(await freePort());
  const result = await runTessera(['serve'], { TESSERA_PORT: port, ...env });
  assert.equal(result.status, 1, `exit ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing logged: the refusal comes before the logger');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  return lines[0] as string;
}

describe('key files and start-up refusals', { skip }, () => {
  test('keygen --out FILE: mode 0600, a valid key, one line naming the file; a second run refuses', async () => {
    const file = join(freshDir(), 'new-master.key');
    const first = await runTessera(['keygen', '--out', file], {});
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, `Wrote a new master key to ${file} (mode 0600)\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const content = readFileSync(file, 'utf8');
    const key = decodeMasterKey(content);
    assert.ok(key !== undefined && key.length === 32, 'the file holds base64 of 32 bytes');
    assert.ok(!first.stdout.includes(content.trim()), 'the key is not printed');

    const second = await runTessera(['keygen', '--out', file], {});
    assert.equal(second.status, 1);
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /^tessera: keygen: .* already exists/);
    assert.equal(readFileSync(file, 'utf8'), content, 'the existing key is left as it was');

    // Without --out the key goes to stdout, as before.
    const printed = await runTessera(['keygen'], {});
    assert.equal(printed.status, 0);
    assert.ok(decodeMasterKey(printed.stdout) !== undefined, printed.stdout);
  });

  test('TESSERA_MASTER_KEY_FILE at 0644 refuses to start; at 0600 (as keygen --out writes it) it starts', async () => {
    const keyFile = join(freshDir(), 'master.key');
    assert.equal((await runTessera(['keygen', '--out', keyFile], {})).status, 0);
    const dataDir = freshDir();
    chmodSync(keyFile, 0o644);
    const line = await refusedStart({ TESSERA_DATA_DIR: dataDir, TESSERA_MASTER_KEY_FILE: keyFile });
    assert.equal(
      line,
      `tessera: TESSERA_MASTER_KEY_FILE: ${keyFile} is accessible by group or others (mode 0644): run chmod 600 ${keyFile}`,
    );
    assert.deepEqual(readdirSync(dataDir), [], 'nothing written to the data folder');

    chmodSync(keyFile, 0o600);
    const server = spawnServer('0600', {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_MASTER_KEY_FILE: keyFile,
    });
    try {
      await server.healthy;
    } finally {
      await server.stop();
    }
    assert.equal(server.exitCode(), 0, server.stderr.join('\n'));
  });

  test("the data folder's master.key at 0644 refuses to start, naming the file and chmod 600", async () => {
    const dataDir = freshDir();
    const file = join(dataDir, 'master.key');
    writeFileSync(file, `${generateMasterKey().toString('base64')}\n`);
    chmodSync(file, 0o644);
    const line = await refusedStart({ TESSERA_DATA_DIR: dataDir });
    assert.equal(
      line,
      `tessera: ${file} is accessible by group or others (mode 0644): run chmod 600 ${file}`,
    );
  });

  test('TESSERA_HOST that does not resolve refuses to start, naming the variable, before the data folder is touched', async () => {
    const dataDir = freshDir();
    // `.invalid` never resolves (RFC 6761); the name itself is well-formed, so only a look-up can tell.
    const line = await refusedStart({ TESSERA_DATA_DIR: dataDir, TESSERA_HOST: 'not-a-host.invalid' });
    assert.match(
      line,
      /^tessera: TESSERA_HOST: 'not-a-host\.invalid' does not resolve to an address to listen on/,
    );
    assert.deepEqual(readdirSync(dataDir), [], 'no key, database or bootstrap token created');
  });

  test('TESSERA_TRUST_PROXY=true refuses to start with one line saying why and what to write', async () => {
    const line = await refusedStart({ TESSERA_DATA_DIR: freshDir(), TESSERA_TRUST_PROXY: 'true' });
    assert.equal(
      line,
      'tessera: TESSERA_TRUST_PROXY=true would let clients choose their own address: set it to the number of proxies in front of Tessera (e.g. 1) or to their addresses/CIDRs',
    );
  });
});
