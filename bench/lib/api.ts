/** The bench's own calls to a server under test: set-up (keys, a secret) and checks of what it serves. */

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const JSON_BODY = { 'content-type': 'application/json' };

async function call(
  base: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : bearer(token)),
      ...(body === undefined ? {} : JSON_BODY),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

/** The answer's JSON; anything but a 200 fails the run (a benchmark of errors measures nothing). */
export async function expectOk(base: string, token: string, method: string, path: string, body?: unknown) {
  const { status, json } = await call(base, token, method, path, body);
  if (status !== 200) throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json)}`);
  return json;
}

/** ADMIN keys, one per scenario, so that no two scenarios share a rate-limit budget. */
export async function createAdminKeys(base: string, admin: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await expectOk(base, admin, 'POST', '/api/v1/auth/key', {
      name: `bench admin ${i + 1}`,
      roles: [{ type: 'DEFAULT', role: 'ADMIN' }],
    });
    tokens.push(created.apiKey as string);
  }
  return tokens;
}
