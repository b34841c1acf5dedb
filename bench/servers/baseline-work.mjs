// The bare baseline (servers/baseline.mjs) with a fixed amount of work per request: the route
// busy-waits WORK_US microseconds before answering. It calibrates the ratio to bare: on a machine
// where bare Fastify serves ~60,000 req/s (~17 µs a request, all costs included), 20 µs more
// already halves the rate or worse, so a server doing any real work per request sits far below 1×.
// Everything else is the baseline's: same Fastify, same answer, no logging, no hooks.
import Fastify from 'fastify';

const port = Number(process.env.PORT);
const workMs = Number(process.env.WORK_US) / 1000;

/** Spins on the clock (performance.now() allocates nothing, unlike hrtime.bigint()). */
function work() {
  const until = performance.now() + workMs;
  while (performance.now() < until) {
    // busy: the point is to use the CPU, as request handling does
  }
}

const app = Fastify({ logger: false });
app.get('/', async () => {
  work();
  return { hello: 'world', ok: true };
});
app.get('/healthz', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port });

const stop = () => app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
