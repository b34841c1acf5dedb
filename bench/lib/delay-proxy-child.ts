// The fleet phase's delaying proxy, as a process of its own (bench/phases/fleet.ts starts it):
// in the bench's process its timers would share one event loop with the load generator, so the
// hop's delay would grow with the load being measured. Arguments: the target host and port, the
// delay in milliseconds each way, the loopback port to listen on. Runs until it is stopped.
import { startTcpProxy } from '../../test/helpers/tcp-proxy.js';

const [host, port, delayMs, listenPort] = process.argv.slice(2);
await startTcpProxy(
  { host: host as string, port: Number(port) },
  { delayMs: Number(delayMs), port: Number(listenPort) },
);
