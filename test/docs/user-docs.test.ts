/**
 * What users read stands alone: the README, docs/ and the examples. They may not cite the
 * developers' contract (a file users do not have) by its sections, and an example may not name a
 * Tessera image as if one were published: this repository builds none, so each such image is
 * marked as the user's own build, and docs/deploy.md says how to make it.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/child-server.js';

/** README.md and every file under docs/, as [path from the repository root, text]. */
function userDocs(): [string, string][] {
  const docs = readdirSync(join(REPO_ROOT, 'docs'), { recursive: true, withFileTypes: true })
    // Text only: the console's screenshots are images.
    .filter((entry) => entry.isFile() && !entry.name.endsWith('.png'))
    .map((entry) => join(entry.parentPath, entry.name));
  return [join(REPO_ROOT, 'README.md'), ...docs].map((path) => [
    relative(REPO_ROOT, path),
    readFileSync(path, 'utf8'),
  ]);
}

test('no user document cites the developers’ contract', () => {
  const citations = userDocs().flatMap(([path, text]) =>
    text
      .split('\n')
      .map((line, i) => ({ line, at: `${path}:${i + 1}` }))
      .filter(({ line }) => /\bSPEC\b|§/.test(line))
      .map(({ at, line }) => `${at}: ${line.trim().slice(0, 120)}`),
  );
  assert.deepEqual(citations, []);
});

test('an example names a Tessera image only as one the user builds, and deploy.md says how', () => {
  const examples = userDocs().filter(([path]) => path.startsWith(join('docs', 'examples')));
  assert.ok(examples.length > 0, 'no examples found');
  const hasDockerfile = existsSync(join(REPO_ROOT, 'Dockerfile'));
  const unmarked = examples.flatMap(([path, text]) =>
    text
      .split('\n')
      .filter((line) => /^\s*image:.*tessera/i.test(line))
      .filter((line) => !hasDockerfile && !line.includes('# built by you'))
      .map((line) => `${path}: ${line.trim()}`),
  );
  assert.deepEqual(unmarked, []);
  if (!hasDockerfile) {
    const deploy = readFileSync(join(REPO_ROOT, 'docs', 'deploy.md'), 'utf8');
    assert.match(deploy, /Tessera publishes no container image/);
  }
});
