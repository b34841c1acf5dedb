// Loaded with `node --import` into the server a soak runs: once a second it appends the process's
// own memory figures (RSS, V8 heap, external buffers) as a JSON line to BENCH_MEMORY_FILE, which
// the soak reads at the end. The heap is only visible from inside; the RSS here matches
// /proc/<pid>/status. An unref'd timer: it never keeps the process alive, and a line a second
// costs nothing measurable.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_MEMORY_FILE;
if (file !== undefined && file !== '') {
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const line = {
      t: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // the soak has gone; nothing to report to
    }
  }, 1_000);
  timer.unref();
}
