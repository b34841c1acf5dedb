/**
 * The authorization matrix (test/helpers/security.ts): every route (MATRIX_ROWS) × every caller
 * (CALLERS), each cell once, its expected status from SPEC §3 and §6 (test/helpers/spec.ts). The
 * first test ties the rows to the OpenAPI document, so a new route cannot be left out; the last
 * prints the table with its number of cells.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MATRIX_ROWS, PROTECTED_ROUTES, PUBLIC_ROUTES } from '../helpers/protected-routes.js';
import {
  assertCell,
  CALLERS,
  type CallerKeys,
  createCallerKeys,
  expectedStatus,
  type MatrixCaller,
  type MatrixRow,
  routeName,
  sendCell,
} from '../helpers/security.js';
import { useTestServer } from '../helpers/server.js';

let keys: CallerKeys;
const suite = useTestServer({}, async () => {
  keys = await createCallerKeys(suite.server);
});

test('every operation of the OpenAPI document is a row of the matrix, and only those', async () => {
  const reply = await suite.call('GET', '/api/v1/openapi.json');
  assert.equal(reply.status, 200);
  const documented: string[] = [];
  for (const [path, operations] of Object.entries<Record<string, unknown>>(reply.body.paths)) {
    for (const method of Object.keys(operations)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        documented.push(routeName({ method: method.toUpperCase() as 'GET', path }));
      }
    }
  }
  const listed = [...PROTECTED_ROUTES, ...PUBLIC_ROUTES.filter((r) => r.documented)].map(routeName);
  assert.equal(new Set(listed).size, listed.length, 'a route is listed twice');
  assert.deepEqual([...listed].sort(), documented.sort());
});

/** Each cell's expected and received status (undefined: no reply), for the printed table. */
const outcomes = new Map<string, { expected: number; actual: number | undefined }>();
const cellKey = (row: MatrixRow, caller: MatrixCaller) => `${routeName(row)}\u0000${caller.label}`;

for (const row of MATRIX_ROWS) {
  // A row's cells are independent (fresh targets where a call gets through): run them side by side.
  describe(routeName(row), { concurrency: 8 }, () => {
    for (const caller of CALLERS) {
      const expected = expectedStatus(row, caller);
      if (expected === undefined) continue;
      test(`${caller.label}: ${expected}`, async () => {
        const outcome: { expected: number; actual: number | undefined } = { expected, actual: undefined };
        outcomes.set(cellKey(row, caller), outcome);
        const { reply, path } = await sendCell(suite.server, keys, row, caller, expected);
        outcome.actual = reply.status;
        assertCell(reply, path, expected);
      });
    }
  });
}

// The matrix as a table, after the cells: a report, not a test (it could not fail), printed as
// the run's diagnostics.
after((context) => {
  // A root-level hook gets the file's test context, which has diagnostic().
  const report = (line: string) => 'diagnostic' in context && context.diagnostic(line);
  const groups = [...new Set(CALLERS.map((c) => c.group))];
  const size = (group: string) => CALLERS.filter((c) => c.group === group).length;
  const headings = groups.map((g) => (size(g) > 1 ? `${g} ×${size(g)}` : g));
  const cellsOf = (row: MatrixRow, group: string) =>
    CALLERS.filter((c) => c.group === group && expectedStatus(row, c) !== undefined);
  const rowName = (row: MatrixRow) => `${routeName(row)} (${requirementName(row.requirement)})`;

  let cells = 0;
  let ran = 0;
  const wrong: string[] = [];
  const lines = MATRIX_ROWS.map((row) => [
    rowName(row),
    ...groups.map((group) => {
      const callers = cellsOf(row, group);
      if (callers.length === 0) return '·';
      const statuses = [...new Set(callers.map((c) => expectedStatus(row, c)))].join('/');
      let mark = '';
      for (const caller of callers) {
        cells += 1;
        const outcome = outcomes.get(cellKey(row, caller));
        if (outcome === undefined) continue;
        ran += 1;
        if (outcome.actual !== outcome.expected) {
          mark = '!';
          wrong.push(
            `${rowName(row)}, ${caller.label}: expected ${outcome.expected}, got ${outcome.actual ?? 'an error'}`,
          );
        }
      }
      return statuses + mark;
    }),
  ]);
  const table = [['route (requirement)', ...headings], ...lines];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of table) report(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  report(
    `${MATRIX_ROWS.length} routes × ${CALLERS.length} callers: ${cells} cells (· = not applicable), ` +
      `${ran} run here, ${wrong.length} wrong (marked !)`,
  );
  for (const line of wrong) report(`wrong: ${line}`);
});

function requirementName(requirement: MatrixRow['requirement']): string {
  if (requirement === null) return 'any key';
  return typeof requirement === 'string' ? requirement : requirement.join(' or ');
}
