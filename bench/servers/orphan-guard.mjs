// Loaded with `node --import` into every process the bench starts. If the bench dies without
// stopping its children (SIGKILL, a crash of node itself), the child notices within a second that
// its parent is gone and ends itself: a benchmark never leaves servers behind. An unref'd timer:
// it never keeps a process alive and costs nothing measurable.
//
// Cluster workers load it too (node:cluster forks them with the primary's execArgv, and they
// inherit BENCH_PARENT_PID). A worker's parent is its primary, not the bench: so each process
// watches the parent it had when it started (re-parented means that parent died) and, in case the
// primary hangs on, whether the bench itself is still alive.
const bench = Number(process.env.BENCH_PARENT_PID);
const parent = process.ppid;

/** Whether a process exists (signal 0 only checks; EPERM means it exists but is not ours). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

if (Number.isInteger(bench) && bench > 0) {
  const timer = setInterval(() => {
    if (process.ppid !== parent || !alive(bench)) {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => process.exit(1), 5_000).unref();
    }
  }, 1_000);
  timer.unref();
}
