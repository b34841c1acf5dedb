import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api/client';
import { asApiError } from './api/problem';
import type { Me, Permission } from './api/types';
import { ErrorNotice } from './components/ErrorNotice';
import { Layout } from './Layout';
import { Pages } from './Pages';
import { SignIn } from './pages/SignIn';
import { tokenStore } from './session';
import { type Session, SessionContext } from './session-context';

type State =
  | { kind: 'signed-out'; reason?: string }
  | { kind: 'checking'; token: string }
  | { kind: 'signed-in'; token: string; me: Me };

/**
 * The console: signed out (the sign-in form, with the reason the last session ended), or signed
 * in with a token whose key `GET /api/v1/me` describes. Any 401 ends the session: the token is
 * dropped from storage and the sign-in form says why.
 */
export function App() {
  const [state, setState] = useState<State>(() => {
    const token = tokenStore.read();
    return token === null ? { kind: 'signed-out' } : { kind: 'checking', token };
  });
  const [error, setError] = useState<ReturnType<typeof asApiError> | undefined>(undefined);

  const signOut = (reason?: string) => {
    tokenStore.clear();
    setState(reason === undefined ? { kind: 'signed-out' } : { kind: 'signed-out', reason });
  };

  const token = state.kind === 'signed-out' ? undefined : state.token;
  const api = useMemo(
    () => (token === undefined ? undefined : createApi(token, (reason) => signOut(reason))),
    [token],
  );

  useEffect(() => {
    if (state.kind !== 'checking' || api === undefined) return;
    setError(undefined);
    api.me().then(
      (me) => {
        tokenStore.save(state.token);
        setState({ kind: 'signed-in', token: state.token, me });
      },
      (caught: unknown) => {
        const problem = asApiError(caught);
        // A 401 has signed out already; anything else (403 of the allowlist, a network error) is shown.
        if (problem.status !== 401) {
          tokenStore.clear();
          setState({ kind: 'signed-out' });
          setError(problem);
        }
      },
    );
  }, [state, api]);

  const session = useMemo<Session | undefined>(() => {
    if (state.kind !== 'signed-in' || api === undefined) return undefined;
    const granted = new Set<Permission>(state.me.permissions);
    return { api, me: state.me, can: (permission) => granted.has(permission) };
  }, [state, api]);

  if (session === undefined) {
    return (
      <>
        <SignIn
          reason={state.kind === 'signed-out' ? state.reason : undefined}
          busy={state.kind === 'checking'}
          onSignIn={(entered) => setState({ kind: 'checking', token: entered })}
        />
        <div class="sign-in">
          <ErrorNotice error={error} />
        </div>
      </>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout onSignOut={() => signOut()}>
        <Pages />
      </Layout>
    </SessionContext.Provider>
  );
}
