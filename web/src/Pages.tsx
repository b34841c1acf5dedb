import { AllowlistPage } from './pages/AllowlistPage';
import { AuditPage } from './pages/AuditPage';
import { KeyDetail } from './pages/KeyDetail';
import { KeysPage } from './pages/KeysPage';
import { Overview } from './pages/Overview';
import { RolesPage } from './pages/RolesPage';
import { SecretDetail } from './pages/SecretDetail';
import { SecretsPage } from './pages/SecretsPage';
import { useRoute } from './router';

/**
 * The page the fragment names. A page whose permission the key lacks is not hidden here: its
 * calls are refused by the API, and the refusal (naming the permission) is what the page shows.
 */
export function Pages() {
  const [section = '', id] = useRoute();
  switch (section) {
    case '':
      return <Overview />;
    case 'keys':
      return id === undefined ? <KeysPage /> : <KeyDetail key={id} cid={id} />;
    case 'secrets':
      return id === undefined ? <SecretsPage /> : <SecretDetail key={id} tag={id} />;
    case 'roles':
      return <RolesPage />;
    case 'allowlist':
      return <AllowlistPage />;
    case 'audit':
      return <AuditPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page is called “{section}”. <a href="#/">Go to the overview</a>.
          </p>
        </section>
      );
  }
}
