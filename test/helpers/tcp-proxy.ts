/**
 * A TCP proxy on a loopback port, for fault injection: put it between a node and PostgreSQL or
 * Redis, `stop()` it to cut every open connection and refuse new ones (as a server that went
 * down does), `start()` it again on the same port to bring the service back; `blackhole()` and
 * `heal()` for a network partition, where nothing is refused and nothing answers. With `delayMs`
 * it is also a network hop: the bench's fleet phase puts PostgreSQL one such hop away.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface TcpProxy {
  /** The loopback port the proxy listens on (the same after stop and start). */
  readonly port: number;
  readonly running: boolean;
  /** Connections currently open through the proxy. */
  openConnections(): number;
  /** Closes the listener and destroys every open socket pair: new connections are refused. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /**
   * A network partition: connections stay open but nothing passes any more (bytes wait, as TCP
   * keeps them), and new ones are accepted and left unanswered. `heal()` lets everything through
   * again, in order; `stop()` cuts every connection instead.
   */
  blackhole(): void;
  heal(): void;
}

export interface ProxyOptions {
  /**
   * Every chunk, in each direction, is forwarded this many milliseconds after it arrived, in
   * order, as a network hop would delay it: at least that long, and Node's timers add a few
   * tenths of a millisecond. 0 (the default): piped straight through, as without the option.
   */
  delayMs?: number;
  /** The loopback port to listen on; 0 (the default): a free one. */
  port?: number;
}

/** One direction of a connection, `from` onto `to`; `hold()` stops it (a partition), `release()` resumes. */
interface Link {
  hold(): void;
  release(): void;
}

/** Straight through: `from` piped onto `to` (its end ends `to`, and backpressure is the pipe's). */
function pipeLink(from: Socket, to: Socket): Link {
  from.pipe(to);
  return {
    hold() {
      from.unpipe(to);
      from.pause();
    },
    release() {
      from.pipe(to);
    },
  };
}

/**
 * `from` onto `to`, each chunk `delayMs` after it arrived. One queue and at most one timer per
 * direction: a timer per chunk could fire out of order when the event loop lags, and a hop
 * reorders nothing. The end of `from` is queued too, so `to` ends after the bytes before it,
 * and is then closed, as the pipe and the teardown on `close` do without a delay.
 */
function delayedLink(from: Socket, to: Socket, delayMs: number): Link {
  /** Chunks in arrival order with the time each is due; null: `from` ended. */
  const queue: { due: number; chunk: Buffer | null }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let held = false;
  /** `to`'s buffer is full: `from` stays paused until it drains (backpressure, as a pipe has). */
  let blocked = false;

  const schedule = () => {
    const head = queue[0];
    if (timer !== undefined || held || head === undefined) return;
    timer = setTimeout(deliver, Math.max(0, head.due - performance.now()));
  };
  function deliver() {
    timer = undefined;
    if (held) return;
    if (!to.writable) {
      // `to` ended or was destroyed (its peer closed): what was still on the way is dropped.
      queue.length = 0;
      return;
    }
    // Node's timers count whole milliseconds and may fire early by this clock: a chunk not yet
    // due waits for the next turn (schedule), so none leaves before its time.
    const now = performance.now();
    // Chunks due together leave in one write (writev), as one segment of a real hop would.
    to.cork();
    while (queue[0] !== undefined && queue[0].due <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer | null };
      if (chunk === null) {
        to.uncork();
        to.end(() => to.destroy());
        return;
      }
      if (!to.write(chunk) && !blocked) {
        blocked = true;
        from.pause();
        to.once('drain', () => {
          blocked = false;
          if (!held) from.resume();
        });
      }
    }
    to.uncork();
    schedule();
  }
  const enqueue = (chunk: Buffer | null) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    schedule();
  };
  from.on('data', (chunk: Buffer) => enqueue(chunk));
  from.once('end', () => enqueue(null));
  to.once('close', () => {
    clearTimeout(timer);
    timer = undefined;
    queue.length = 0;
  });
  return {
    hold() {
      // Bytes already queued wait, as TCP keeps them; nothing more is read.
      held = true;
      from.pause();
      clearTimeout(timer);
      timer = undefined;
    },
    release() {
      held = false;
      if (!blocked) from.resume();
      schedule();
    },
  };
}

/** Starts a proxy to `target` on a free loopback port. */
export async function startTcpProxy(target: ProxyTarget, options: ProxyOptions = {}): Promise<TcpProxy> {
  const delayMs = options.delayMs ?? 0;
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error(`delayMs must be 0 or more (got ${delayMs})`);
  const sockets = new Set<Socket>();
  /** Each connection's two directions: client to upstream, upstream to client. */
  const pairs = new Set<[Link, Link]>();
  /** Connections accepted during a partition: no upstream yet, nothing read. */
  const held = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;
  let partitioned = false;

  function track(socket: Socket) {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  }

  function onConnection(client: Socket) {
    track(client);
    client.on('error', () => client.destroy());
    if (partitioned) {
      client.pause();
      held.add(client);
      client.once('close', () => held.delete(client));
      return;
    }
    forward(client);
  }

  function forward(client: Socket) {
    const upstream = connect({ host: target.host, port: target.port });
    track(upstream);
    // Either side failing takes its partner with it: no half-dead pairs. So does either side
    // closing, unless (with a delay) it ended cleanly: its end is queued behind its last bytes,
    // and closes the partner once delivered.
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    const onClose = (socket: Socket) => () => {
      if (delayMs === 0 || !socket.readableEnded) teardown();
    };
    client.on('close', onClose(client));
    upstream.on('close', onClose(upstream));
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const link = delayMs === 0 ? pipeLink : (from: Socket, to: Socket) => delayedLink(from, to, delayMs);
    const pair: [Link, Link] = [link(client, upstream), link(upstream, client)];
    pairs.add(pair);
    client.once('close', () => pairs.delete(pair));
  }

  async function listen() {
    const next = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        next.off('error', reject);
        resolve();
      });
    });
    const address = next.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
    port = address.port;
    server = next;
  }

  await listen();
  return {
    get port() {
      return port;
    },
    get running() {
      return server !== undefined;
    },
    openConnections: () => sockets.size,
    blackhole() {
      partitioned = true;
      for (const pair of pairs) for (const direction of pair) direction.hold();
    },
    heal() {
      if (!partitioned) return;
      partitioned = false;
      for (const pair of pairs) for (const direction of pair) direction.release();
      for (const client of held) forward(client);
      held.clear();
    },
    async stop() {
      partitioned = false;
      const current = server;
      server = undefined;
      if (current === undefined) return;
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      pairs.clear();
      held.clear();
      await closed;
    },
    async start() {
      if (server !== undefined) return;
      await listen();
    },
  };
}
