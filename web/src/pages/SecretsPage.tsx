import { useState } from 'preact/hooks';
import type { Paging, Secret } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { NameField } from '../components/NameField';
import { Pager } from '../components/Pager';
import { PageTitle } from '../components/PageTitle';
import { SearchBox } from '../components/SearchBox';
import { href, navigate } from '../router';
import { useSession } from '../session-context';
import { useAction, useLoad } from '../use-load';

/** A new secret: its value goes in a password field, straight to the API, and is never shown. */
function SecretCreate({ onCancel }: { onCancel(): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [tag, setTag] = useState('');
  const [value, setValue] = useState('');
  const action = useAction();
  return (
    <form
      class="panel"
      aria-labelledby="new-secret-title"
      onSubmit={(event) => {
        event.preventDefault();
        void action
          .run(() => api.createSecret({ name, tag, secret: value }))
          .then((created) => {
            if (created !== undefined) {
              setValue('');
              navigate('secrets', created.tag);
            }
          });
      }}
    >
      <h2 id="new-secret-title">New secret</h2>
      <NameField value={name} onChange={setName} />
      <label>
        Tag (letters, digits, - and _; how clients name it)
        <input
          type="text"
          required
          maxLength={100}
          value={tag}
          onInput={(e) => setTag(e.currentTarget.value)}
        />
      </label>
      <label>
        Value
        <input
          type="password"
          required
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <ErrorNotice error={action.error} />
      <button type="submit" disabled={action.busy}>
        Create secret
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}

function matches(secret: Secret, search: string): boolean {
  const needle = search.toLowerCase();
  return [secret.name, secret.tag, secret.id].some((text) => text.toLowerCase().includes(needle));
}

/** The secrets (names and tags only: no value is ever on this page). */
export function SecretsPage() {
  const { api } = useSession();
  const [paging, setPaging] = useState<Paging>({ page: 0, pageSize: 250 });
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const list = useLoad(() => api.listSecrets(paging), [paging.page, paging.pageSize]);
  const secrets = list.data?.secrets ?? [];
  const shown = search === '' ? secrets : secrets.filter((secret) => matches(secret, search));
  return (
    <section>
      <PageTitle>Secrets</PageTitle>
      {creating ? (
        <SecretCreate onCancel={() => setCreating(false)} />
      ) : (
        <button type="button" onClick={() => setCreating(true)}>
          New secret
        </button>
      )}
      <ErrorNotice error={list.error} />
      {list.data !== undefined && (
        <>
          <SearchBox
            label="Search by tag or name"
            value={search}
            onInput={setSearch}
            shown={shown.length}
            loaded={secrets.length}
          />
          {shown.length === 0 ? (
            <p>No secrets to show.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Secrets</caption>
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Name</th>
                    <th scope="col">Id</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((secret) => (
                    <tr key={secret.id}>
                      <td>
                        <a href={href('secrets', secret.tag)}>{secret.tag}</a>
                      </td>
                      <td>{secret.name}</td>
                      <td>
                        <code>{secret.id}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager
            label="Secrets"
            paging={paging}
            total={list.data.total}
            totalPages={list.data.totalPages}
            onChange={setPaging}
          />
        </>
      )}
      {list.loading && <p class="muted">Loading…</p>}
    </section>
  );
}
