import { Fragment } from 'preact';
import { PageTitle } from '../components/PageTitle';
import { roleName, when } from '../format';
import { useSession } from '../session-context';

/** Who is signed in: the key, its roles, and what it may do. */
export function Overview() {
  const { me } = useSession();
  return (
    <section>
      <PageTitle>Signed in as {me.name}</PageTitle>
      <dl class="facts">
        <dt>Key</dt>
        <dd>
          <code>{me.cid}</code> (…{me.last4})
        </dd>
        <dt>Roles</dt>
        <dd>{me.roles.map(roleName).join(', ')}</dd>
        <dt>Expires</dt>
        <dd>{me.expirationDate === null ? 'never' : when(me.expirationDate)}</dd>
        <dt>Permissions</dt>
        <dd>{me.permissions.length === 0 ? 'none' : me.permissions.join(', ')}</dd>
        {Object.entries(me.secretScopes ?? {}).map(([permission, patterns]) => (
          <Fragment key={permission}>
            <dt>{permission} limited to</dt>
            <dd>{(patterns ?? []).join(', ')}</dd>
          </Fragment>
        ))}
      </dl>
      <p class="muted">
        The console shows the pages this key's permissions open; the API decides every call.
      </p>
    </section>
  );
}
