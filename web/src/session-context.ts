import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api/client';
import type { Me, Permission } from './api/types';

/** The signed-in key and the API client holding its token, for every page. */
export interface Session {
  api: Api;
  me: Me;
  can(permission: Permission): boolean;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error('useSession outside a signed-in console');
  return session;
}
