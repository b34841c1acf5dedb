import type { ComponentChildren } from 'preact';
import type { Permission } from './api/types';
import { href, useRoute } from './router';
import { useSession } from './session-context';

/** The pages in the navigation, each shown only to a key with the permission its calls need. */
export const SECTIONS: { path: string; label: string; permission?: Permission }[] = [
  { path: '', label: 'Overview' },
  { path: 'keys', label: 'API keys', permission: 'EDIT_API_KEYS' },
  { path: 'secrets', label: 'Secrets', permission: 'CREATE_SECRETS' },
  { path: 'roles', label: 'Roles', permission: 'EDIT_ROLES' },
  { path: 'allowlist', label: 'IP allowlist', permission: 'CONFIGURE_IP_ALLOWLIST' },
  { path: 'audit', label: 'Audit log', permission: 'VIEW_AUDIT_LOGS' },
];

export function Layout({ children, onSignOut }: { children: ComponentChildren; onSignOut(): void }) {
  const { me, can } = useSession();
  const [current = ''] = useRoute();
  return (
    <>
      {/* A button, not a link to #main: the fragment names pages here. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Tessera</span>
        <nav aria-label="Console">
          <ul>
            {SECTIONS.filter((section) => section.permission === undefined || can(section.permission)).map(
              (section) => (
                <li key={section.path}>
                  <a href={href(section.path)} aria-current={current === section.path ? 'page' : undefined}>
                    {section.label}
                  </a>
                </li>
              ),
            )}
          </ul>
        </nav>
        <span class="who">
          {me.name} <code>…{me.last4}</code>
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
