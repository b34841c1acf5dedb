// The module-log.mjs hooks, run on the loader's own thread: each resolved URL is appended at once,
// so what a process loaded is on file even when it ends by process.exit().
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (file !== undefined) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
