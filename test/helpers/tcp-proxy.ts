/**
 * A TCP proxy on a loopback port, for fault injection: put it between a node and PostgreSQL or
 * Redis, `stop()` it to cut every open connection and refuse new ones (as a server that went
 * down does), `start()` it again on the same port to bring the service back; `blackhole()` and
 * `heal()` for a network partition, where nothing is refused and nothing answers.
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

/** Starts a proxy to `target` on a free loopback port. */
export async function startTcpProxy(target: ProxyTarget): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  /** Connections accepted during a partition: no upstream yet, nothing read. */
  const held = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
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
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.once('close', () => pairs.delete(pair));
    // Either side failing or closing takes its partner with it: no half-dead pairs.
    const teardown = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    client.on('close', teardown);
    upstream.on('close', teardown);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
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
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    heal() {
      if (!partitioned) return;
      partitioned = false;
      for (const [client, upstream] of pairs) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
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
