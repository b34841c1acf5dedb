import type { ApiError } from '../api/problem';

/** An API refusal as the page shows it: the problem's detail, each invalid field, and the request id to quote. */
export function ErrorNotice({ error }: { error: ApiError | undefined }) {
  if (error === undefined) return null;
  return (
    <div class="notice error" role="alert">
      <p>
        <strong>{error.status === 0 ? 'Network error' : `Error ${error.status}`}:</strong> {error.detail}
      </p>
      {error.violations.length > 0 && (
        <ul>
          {error.violations.map((violation) => (
            <li key={violation.pointer}>
              <code>{violation.pointer}</code>: {violation.description}
            </li>
          ))}
        </ul>
      )}
      {error.requestId !== undefined && (
        <p class="muted">
          Request ID: <code class="request-id">{error.requestId}</code>
        </p>
      )}
    </div>
  );
}
