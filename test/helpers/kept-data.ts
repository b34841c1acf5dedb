import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { generateToken } from '../../src/crypto/tokens.js';
import { removeTestData } from './secrets.js';
import { startRefused, startTestServer, type TestServer, type TestServerOptions } from './server.js';

/** A clean-up stuck this long fails, instead of keeping the run waiting. */
const HOOK_TIMEOUT_MS = 120_000;

/**
 * One data folder that a test stops and starts servers on (restarts, other master keys), with
 * the bootstrap admin token kept across them. At most one server runs on it at a time, and
 * `dispose` closes it and removes the data whatever the test did: a test that fails half-way
 * leaves no server listening and no pool open, which would keep the test process from exiting.
 */
export class KeptData {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'tessera-kept-'));
  readonly adminToken = generateToken();
  private running: TestServer | undefined;
  private disposed = false;

  /** The server running now. */
  get server(): TestServer {
    if (this.running === undefined) throw new Error('no server is running on this data folder');
    return this.running;
  }

  /** Stops the running server, if any, and starts one with `masterKey`. */
  async start(masterKey: Buffer): Promise<TestServer> {
    this.assertInUse();
    await this.stop();
    const started = await startTestServer(this.serverOptions(masterKey));
    if (this.disposed) {
      // The test ended (a timeout) while this start was under way: nobody else would close it.
      await started.close();
      this.assertInUse();
    }
    this.running = started;
    return started;
  }

  /** Stops the running server, if any, then asserts that a start with `masterKey` is refused. */
  async refused(masterKey: Buffer): Promise<unknown> {
    this.assertInUse();
    await this.stop();
    return startRefused(this.serverOptions(masterKey));
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.close();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    try {
      await this.stop();
    } finally {
      await removeTestData(this.dataDir);
    }
  }

  /** A test cancelled by a timeout runs on: what it does after its clean-up must start nothing. */
  private assertInUse(): void {
    if (this.disposed) throw new Error('this data folder was disposed of: its test has ended');
  }

  private serverOptions(masterKey: Buffer): TestServerOptions {
    return { dataDir: this.dataDir, keepData: true, masterKey, adminToken: this.adminToken };
  }
}

/**
 * A KeptData for the test `t`, disposed of when that test ends, however it ends. Bound to the
 * test itself rather than to an afterEach: when a suite's timeout cancels a test, Node runs the
 * cancelled test's afterEach late, while the next tests already run, and a hook that disposes of
 * "the current folder" would remove theirs and leave its own running.
 */
export function keptDataFor(t: TestContext): KeptData {
  const data = new KeptData();
  t.after(() => data.dispose(), { timeout: HOOK_TIMEOUT_MS });
  return data;
}
