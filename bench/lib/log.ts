/** Progress goes to stderr, so that stdout carries the report alone. */
export const log = (line: string) => {
  process.stderr.write(`${line}\n`);
};
