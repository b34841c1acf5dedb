import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';

/** The signals `tessera run` passes on to its command (the others end it as they end any process). */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * The command `tessera run` runs: started with the secrets in its environment (never in its
 * arguments), sent every forwarded signal tessera receives, and restarted on demand (SIGTERM,
 * then SIGKILL once the grace has passed). `finished` resolves with the exit code tessera should
 * end with: the command's own, or 128 + the signal's number when a signal ended it (the shells'
 * convention); 127 when the command does not exist, 126 when it may not be run.
 */
export class ChildRunner {
  readonly finished: Promise<number>;
  private child: ChildProcess | undefined;
  private restarting = false;
  private finish!: (code: number) => void;
  private readonly forward = (signal: NodeJS.Signals) => {
    this.child?.kill(signal);
  };

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly graceMs: number,
  ) {
    this.finished = new Promise((done) => {
      this.finish = done;
    });
    for (const signal of FORWARDED) process.on(signal, this.forward);
    void this.finished.then(() => {
      for (const signal of FORWARDED) process.off(signal, this.forward);
    });
  }

  start(env: NodeJS.ProcessEnv): void {
    const child = spawn(this.command, this.args, { env, stdio: 'inherit' });
    this.child = child;
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (this.child !== child) return;
      const missing = error.code === 'ENOENT';
      process.stderr.write(
        `tessera: cannot run ${this.command}: ${missing ? 'no such command' : error.message}\n`,
      );
      this.finish(missing ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child || this.restarting) return;
      this.finish(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0)));
    });
  }

  /** Stops the running command (SIGTERM, SIGKILL after the grace) and starts it again with `env`. */
  async restart(env: NodeJS.ProcessEnv): Promise<void> {
    const child = this.child;
    if (child === undefined) return this.start(env);
    this.restarting = true;
    try {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
        await exited;
        clearTimeout(killer);
      }
    } finally {
      this.restarting = false;
    }
    this.start(env);
  }
}
