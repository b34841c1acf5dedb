import { useState } from 'preact/hooks';

/** Sign-in with an API token; `reason` says why the last session ended (an expired or invalid key). */
export function SignIn({
  reason,
  busy,
  onSignIn,
}: {
  reason?: string;
  busy: boolean;
  onSignIn(token: string): void;
}) {
  const [token, setToken] = useState('');
  return (
    <main class="sign-in">
      <h1>Tessera console</h1>
      {reason !== undefined && (
        <div class="notice error" role="alert">
          <p>
            <strong>Signed out:</strong> {reason}
          </p>
        </div>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token.trim() !== '') onSignIn(token.trim());
        }}
      >
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          placeholder="tsk_…"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <p class="muted">
          The token stays in this tab only (its session storage) and is gone when the tab closes. The console
          sees what this key may do, nothing more.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
