/**
 * The fuzzer's HTTP client. Not fetch: fetch normalises paths (`/a/../b` becomes `/b`), adds a
 * content type to string bodies and refuses some methods with bodies, and the fuzzer must send
 * exactly what it generated. node:http sends the request line and headers as given.
 */
import http from 'node:http';
import type { Reply } from './http.js';

export interface RawRequest {
  method: string;
  /** Path and query, already percent-encoded as the fuzzer wants them on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer | undefined;
}

/** A request that takes longer than this hangs the server as far as the fuzzer is concerned. */
const TIMEOUT_MS = 15_000;

export interface RawClient {
  send(request: RawRequest): Promise<Reply>;
  close(): void;
}

export function rawClient(baseUrl: string): RawClient {
  const { hostname, port } = new URL(baseUrl);
  // A connection per request: a request the server rejects at the HTTP level closes its
  // connection, which must not fail the next request.
  const agent = new http.Agent({ keepAlive: false });
  return {
    send(request) {
      return new Promise<Reply>((resolve, reject) => {
        const headers: Record<string, string> = { ...request.headers };
        if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
        // The server may answer (a 413, say) and close before the whole body was written: once an
        // answer has arrived, a write error that follows is not a failure.
        let answered = false;
        const outgoing = http.request(
          { host: hostname, port, method: request.method, path: request.path, headers, agent },
          (incoming) => {
            answered = true;
            const chunks: Buffer[] = [];
            incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
            incoming.on('error', reject);
            incoming.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let body: unknown = text;
              try {
                body = text === '' ? undefined : JSON.parse(text);
              } catch {
                // not JSON: keep the text
              }
              const replyHeaders = new Headers();
              for (const [name, value] of Object.entries(incoming.headers)) {
                if (value !== undefined)
                  replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
              }
              resolve({ status: incoming.statusCode ?? 0, headers: replyHeaders, body, text });
            });
          },
        );
        outgoing.setTimeout(TIMEOUT_MS, () =>
          outgoing.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)),
        );
        outgoing.on('error', (error) => {
          if (!answered) reject(error);
        });
        outgoing.end(request.body);
      });
    },
    close: () => agent.destroy(),
  };
}
