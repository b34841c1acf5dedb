/**
 * Questions at the terminal. The token is read with echo off (raw mode, nothing printed), so it
 * shows neither on screen nor in the terminal's scrollback; from a pipe it is the first line.
 */
export async function askHidden(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return (await readAll(input)).split(/\r?\n/, 1)[0] ?? '';
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  try {
    return await new Promise<string>((done, fail) => {
      let typed = '';
      const onData = (chunk: string) => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') {
            input.off('data', onData);
            return done(typed);
          }
          if (char === '\u0003') {
            input.off('data', onData);
            return fail(new Error('cancelled'));
          }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
          else if (char >= ' ') typed += char;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    process.stderr.write('\n');
  }
}

export async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await lines.question(question);
  } finally {
    lines.close();
  }
}

/** Everything on a stream, as UTF-8, up to `limit` bytes (a value is at most 64 KiB; a file more). */
export async function readAll(stream: NodeJS.ReadableStream, limit = 8 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) throw new Error(`standard input is larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
