import type { FastifyInstance } from 'fastify';
import { hashToken, isWellFormedToken } from '../../crypto/tokens.js';
import { AppError } from '../../http/errors.js';
import { commonErrors, origin } from '../../http/schemas.js';
import type { ApiKeyService } from '../api-keys/api-keys.service.js';
import { reportSigned, type ScanningKeys } from './scanning-keys.js';

/** The token type Tessera's tokens are registered under with GitHub's secret scanning. */
export const TOKEN_TYPE = 'tessera_api_token';
const MAX_TOKENS_PER_REPORT = 1000;

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;

const reportBody = {
  type: 'array',
  description: 'Tokens found in public places, as GitHub sends them.',
  maxItems: MAX_TOKENS_PER_REPORT,
  items: {
    type: 'object',
    required: ['token'],
    properties: { token: text(512), type: text(128), url: text(4096), source: text(128) },
  },
} as const;

const feedback = {
  type: 'array',
  description: 'One label per token: `true_positive` when it was a live key, now revoked.',
  items: {
    type: 'object',
    required: ['token_hash', 'token_type', 'label'],
    properties: {
      token_hash: { type: 'string', description: 'SHA-256 of the token, hex.' },
      token_type: { type: 'string' },
      label: { type: 'string', enum: ['true_positive', 'false_positive'] },
    },
  },
} as const;

interface ReportedToken {
  token: string;
  url?: string;
}

/**
 * Leaked-token reports in GitHub's secret-scanning partner format. A report is believed only if
 * its raw body is signed by one of the configured keys (scanning-keys.ts): an unsigned or badly
 * signed one is 401 and revokes nothing. Each well-formed token (prefix and checksum, checked
 * before any storage look-up) that belongs to a key revokes that key on every node. Public as far
 * as API keys go (the signature is the credential), rate limited per client like every public
 * route, and under the IP allowlist like the rest of /api/v1.
 */
export async function tokenScanningRoutes(
  app: FastifyInstance,
  { keys, apiKeys }: { keys: ScanningKeys; apiKeys: ApiKeyService },
) {
  app.post<{ Body: ReportedToken[] }>(
    '/api/v1/token-scanning/github',
    {
      config: { rawBody: true, objectType: 'API_KEY' },
      schema: {
        ...origin('tessera'),
        tags: ['Operations'],
        summary: 'Report leaked tokens (GitHub secret scanning)',
        description:
          'Signed with `Github-Public-Key-Identifier` and `Github-Public-Key-Signature` (ECDSA P-256, SHA-256 over the raw body, base64 DER) by a key of TESSERA_SCANNING_PUBLIC_KEYS_FILE; absent (404) unless that is set. Revokes the keys of the live tokens it names.',
        security: [],
        body: reportBody,
        response: { 200: feedback, ...commonErrors },
      },
    },
    async (request) => {
      const keyId = request.headers['github-public-key-identifier'];
      const signature = request.headers['github-public-key-signature'];
      const signed =
        typeof keyId === 'string' &&
        typeof signature === 'string' &&
        request.rawBody !== undefined &&
        reportSigned(keys, keyId, signature, request.rawBody);
      if (!signed) {
        throw new AppError(
          'UNAUTHORIZED',
          'Unauthorized',
          'The report is not signed by a configured scanning key',
        );
      }
      const labels = [];
      for (const { token, url } of request.body) {
        const tokenHash = hashToken(token);
        const revoked =
          isWellFormedToken(token) &&
          (await apiKeys.revokeLeaked(tokenHash, url === undefined ? 'an undisclosed place' : url)) !==
            undefined;
        labels.push({
          token_hash: tokenHash,
          token_type: TOKEN_TYPE,
          label: revoked ? 'true_positive' : 'false_positive',
        });
      }
      return labels;
    },
  );
}
