import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * The native SQLite driver for the Node.js line this process runs on. better-sqlite3 13 (Node-API,
 * prebuilt) on Node 22 and later; better-sqlite3 12 (built from source at install, the optional
 * dependency `better-sqlite3-node20`) on Node 20, where 13 crashes. 12 must not run on Node 24:
 * from 24.19 its statements' destructors abort the process when the garbage collector frees them
 * outside JavaScript (at exit, after a database closes). Both have the same API and types.
 */
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const PACKAGE = NODE_MAJOR >= 22 ? 'better-sqlite3' : 'better-sqlite3-node20';

function load(): typeof BetterSqlite3 {
  try {
    return createRequire(import.meta.url)(PACKAGE) as typeof BetterSqlite3;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      `Node.js ${process.versions.node} needs the package ${PACKAGE}, which is not installed ` +
        '(npm ci installs it; on Node 20 it builds from source and needs python3, make and a C++ compiler)',
    );
  }
}

const SQLite: typeof BetterSqlite3 = load();
export default SQLite;
