/** A real webhook receiver over HTTP, webhook helpers, and the webhooks' rows of the authorization matrix. */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { api } from './keys.js';
import type { ProtectedRoute, RouteContext, Vars } from './security.js';
import { registerSensitive } from './sensitive.js';
import type { TestServer } from './server.js';

export interface ReceivedEvent {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, any>;
  /** Date.now() when the body had arrived (for the latency the tests report). */
  receivedAt: number;
}

/**
 * An HTTP receiver on 127.0.0.1 that records every POST and answers `status` (200 by default).
 * `stop()` closes the port (a receiver that is down); `start()` listens on the same port again.
 * `hold` keeps requests unanswered (a delivery in flight).
 */
export class Receiver {
  readonly received: ReceivedEvent[] = [];
  status = 200;
  hold = false;
  private server: Server | undefined;
  private held: (() => void)[] = [];
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ headers: req.headers, body, json: JSON.parse(body), receivedAt: Date.now() });
        const answer = () => {
          res.statusCode = this.status;
          res.end('receiver body, never stored');
        };
        if (this.hold) this.held.push(answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  /** The distinct event ids received. */
  eventIds(): Set<string> {
    return new Set(this.received.map((event) => String(event.headers['tessera-event-id'])));
  }

  ofType(type: string): ReceivedEvent[] {
    return this.received.filter((event) => event.json.type === type);
  }
}

export async function startReceiver(): Promise<Receiver> {
  const receiver = new Receiver();
  await receiver.start();
  return receiver;
}

/** Checks a delivery's Tessera-Signature as a receiver would: HMAC-SHA256 of "<t>.<body>". */
export function signatureVerifies(secret: string, event: ReceivedEvent): boolean {
  const header = String(event.headers['tessera-signature'] ?? '');
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${event.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
}

export interface CreatedWebhook {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  createdDate: string;
  secret: string;
}

export const ALL_EVENTS = [
  'api_key.created',
  'api_key.updated',
  'api_key.rolled',
  'api_key.deleted',
  'api_key.expiring',
  'api_key.expired',
  'secret.created',
  'secret.updated',
  'secret.deleted',
  'token.leaked',
] as const;

/** Creates a webhook over HTTP as the admin and asserts the 200; its secret is watched by the leak scan. */
export async function createWebhook(
  server: TestServer,
  url: string,
  events: readonly string[] = ALL_EVENTS,
  description?: string,
): Promise<CreatedWebhook> {
  const reply = await api(server)('POST', '/api/v1/webhooks', {
    token: server.adminToken,
    body: { url, events, ...(description === undefined ? {} : { description }) },
  });
  assert.equal(reply.status, 200, `creating a webhook failed: ${reply.text}`);
  registerSensitive(reply.body.secret, 'secret value');
  return reply.body as CreatedWebhook;
}

/** A URL on a port nothing listens on: deliveries to it fail at once and send nothing anywhere. */
export const CLOSED_PORT_URL = 'http://127.0.0.1:9/closed';

async function newWebhook({ server }: RouteContext): Promise<Vars> {
  return { id: (await createWebhook(server, CLOSED_PORT_URL, ['secret.deleted'])).id };
}

/** A webhook and one delivery of it (an event it takes, made as the admin). */
async function newDelivery({ server }: RouteContext): Promise<Vars> {
  const call = api(server);
  const webhook = await createWebhook(server, CLOSED_PORT_URL, ['api_key.created']);
  const key = await call('POST', '/api/v1/auth/key', {
    token: server.adminToken,
    body: { name: 'delivery-maker', roles: [{ type: 'DEFAULT', role: 'READ_ONLY' }] },
  });
  assert.equal(key.status, 200, key.text);
  const list = await call('GET', `/api/v1/webhooks/${webhook.id}/deliveries`, { token: server.adminToken });
  assert.equal(list.status, 200, list.text);
  return { id: webhook.id, deliveryId: list.body.deliveries[0].id };
}

/** The webhook calls (Tessera), EDIT_WEBHOOKS each. */
export const WEBHOOK_ROUTES: readonly ProtectedRoute[] = [
  { method: 'GET', path: '/api/v1/webhooks', permission: 'EDIT_WEBHOOKS' },
  {
    method: 'POST',
    path: '/api/v1/webhooks',
    permission: 'EDIT_WEBHOOKS',
    body: { url: CLOSED_PORT_URL, events: ['secret.deleted'] },
  },
  { method: 'GET', path: '/api/v1/webhooks/{id}', permission: 'EDIT_WEBHOOKS', setup: newWebhook },
  {
    method: 'PUT',
    path: '/api/v1/webhooks/{id}',
    permission: 'EDIT_WEBHOOKS',
    body: { url: CLOSED_PORT_URL, events: ['secret.created'] },
    setup: newWebhook,
  },
  { method: 'DELETE', path: '/api/v1/webhooks/{id}', permission: 'EDIT_WEBHOOKS', setup: newWebhook },
  { method: 'GET', path: '/api/v1/webhooks/{id}/deliveries', permission: 'EDIT_WEBHOOKS', setup: newWebhook },
  {
    method: 'POST',
    path: '/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
    permission: 'EDIT_WEBHOOKS',
    setup: newDelivery,
  },
];
