/**
 * Bugs the fuzzer found that are still open, in code the fuzz tests do not own (and one limit of
 * the test database). The main run
 * (test/fuzz/api-fuzz.test.ts) leaves out the inputs that meet them: it stops at the first
 * failure, so an open bug would hide everything else. test/fuzz/findings.test.ts sends exactly
 * those inputs as todo tests; when one passes, the bug is fixed: delete its entry here, and the
 * main run covers those inputs again.
 */
import type { OmittedKind } from './fuzz-requests.js';

interface OpenBug {
  /** Where and what, for the todo label. */
  summary: string;
  /** The inputs the main run leaves out meanwhile. */
  omit: OmittedKind[];
  /** Whether it shows on this test run's database. */
  shows: () => boolean;
}

export const OPEN_BUGS = {
  // None open. An entry: summary, the inputs to omit, and where it shows (see OpenBug).
} as const satisfies Record<string, OpenBug>;

/** The todo label of an open bug on this test run's database, or false where it does not show. */
export function openBug(name: keyof typeof OPEN_BUGS): string | false {
  const bug: OpenBug = OPEN_BUGS[name];
  return bug.shows() ? `open bug: ${bug.summary}` : false;
}

/** What the main run leaves out on this test run's database. */
export function omittedKinds(): ReadonlySet<OmittedKind> {
  const bugs: OpenBug[] = Object.values(OPEN_BUGS);
  return new Set(bugs.filter((bug) => bug.shows()).flatMap((bug) => bug.omit));
}
