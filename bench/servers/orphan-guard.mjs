// Loaded with `node --import` into every process the bench starts. If the bench dies without
// stopping its children (SIGKILL, a crash of node itself), the child notices within a second that
// its parent is gone and ends itself: a benchmark never leaves servers behind. An unref'd timer:
// it never keeps a process alive and costs nothing measurable.
const parent = Number(process.env.BENCH_PARENT_PID);
if (Number.isInteger(parent) && parent > 0) {
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => process.exit(1), 5_000).unref();
    }
  }, 1_000);
  timer.unref();
}
