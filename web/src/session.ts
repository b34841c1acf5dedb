/**
 * Where the signed-in token lives: this tab's sessionStorage and nowhere else (never a URL, a
 * cookie, localStorage or a log line), so it is gone when the tab closes and no other tab shares it.
 */
const SLOT = 'tessera.console.token';

export const tokenStore = {
  read(): string | null {
    try {
      return sessionStorage.getItem(SLOT);
    } catch {
      return null;
    }
  },
  save(token: string): void {
    sessionStorage.setItem(SLOT, token);
  },
  clear(): void {
    sessionStorage.removeItem(SLOT);
  },
};
