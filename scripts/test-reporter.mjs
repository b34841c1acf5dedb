// A reporter for Node's test runner that prints what a maintainer reads: each failure with its
// error and its file's output, each skip with its reason, and one summary line. Node's own TAP
// output for the whole suite is about 13,000 lines; a passing test has nothing to say.
// Used by scripts/run-tests.mjs; `--test-reporter=tap` there gives the full stream back.
import { relative } from 'node:path';
import { inspect } from 'node:util';

const where = (data) => (data.file === undefined ? '' : ` (${relative(process.cwd(), data.file)})`);

/** A failed test's error: the cause inside the runner's wrapper, its stack without Node's frames. */
function describeError(error) {
  // A whole file fails this way when its process ends badly: its output below tells the story.
  if (error?.exitCode !== undefined && typeof error.cause === 'string') {
    return `the file's process ended with ${error.signal ? `signal ${error.signal}` : `exit code ${error.exitCode}`}`;
  }
  const cause = error?.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
  if (!(cause instanceof Error)) return inspect(cause, { depth: 4 });
  return (cause.stack ?? String(cause))
    .split('\n')
    .filter((line) => !/^\s+at .*(node:internal|node:async_hooks)/.test(line))
    .join('\n');
}

const indent = (text) =>
  String(text)
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

export default async function* testReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  // What each file printed, shown only when one of its tests fails: a crash's story is there.
  const output = new Map();
  const failedFiles = new Set();
  const started = Date.now();

  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:stdout' || type === 'test:stderr') {
      const file = data.file ?? '';
      output.set(file, (output.get(file) ?? '') + data.message);
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    // A suite's or a file's result only repeats its tests' results, unless it failed on its own.
    const isGroup = data.details?.type === 'suite';
    if (type === 'test:pass') {
      const skippedItself = data.skip !== undefined && data.skip !== false;
      // A skipped suite is one skip, with its reason: its tests never ran.
      if (isGroup && !skippedItself) continue;
      if (skippedItself) {
        skipped += 1;
        const reason = typeof data.skip === 'string' ? `: ${data.skip}` : '';
        yield `skipped ${data.name}${reason}${where(data)}\n`;
      } else if (data.todo === undefined || data.todo === false) {
        passed += 1;
      }
      continue;
    }
    const error = data.details?.error;
    // A group fails when a test in it failed (already reported), or on its own (a hook, a crash).
    if (isGroup && error?.failureType === 'subtestsFailed') continue;
    failed += 1;
    if (data.file !== undefined) failedFiles.add(data.file);
    const name = data.name === data.file ? relative(process.cwd(), data.file) : `${data.name}${where(data)}`;
    yield `FAILED ${name}\n${indent(describeError(error))}\n`;
  }

  for (const file of failedFiles) {
    const text = output.get(file);
    if (text !== undefined && text.trim() !== '') {
      yield `output of ${relative(process.cwd(), file)}:\n${indent(text)}\n`;
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  yield `${passed} passed, ${failed} failed, ${skipped} skipped (${seconds} s)\n`;
}
