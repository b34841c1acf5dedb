import { useEffect, useState } from 'preact/hooks';

/**
 * Pages are addressed by the URL's fragment (`#/secrets/db-password`): the server serves one
 * page, and what the fragment names is never sent to it. Fragments hold only names and ids,
 * never a token or a value.
 */
function segments(): string[] {
  return window.location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
}

/** The current page's path, as segments; re-rendered when it changes. */
export function useRoute(): string[] {
  const [route, setRoute] = useState(segments);
  useEffect(() => {
    const changed = () => setRoute(segments());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function navigate(...parts: string[]): void {
  window.location.hash = href(...parts);
}
