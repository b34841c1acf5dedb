import { useLayoutEffect, useState } from 'preact/hooks';
import type { Paging, SecretChange } from '../api/types';
import { CopyButton } from '../components/CopyButton';
import { DeletePanel } from '../components/DeletePanel';
import { ErrorNotice } from '../components/ErrorNotice';
import { NameField } from '../components/NameField';
import { Pager } from '../components/Pager';
import { PageTitle } from '../components/PageTitle';
import { when } from '../format';
import { href, navigate } from '../router';
import { useSession } from '../session-context';
import { useAction, useLoad } from '../use-load';
import { RevealValue } from './RevealValue';

/** One secret: reveal or copy its value on request, its versions, change its name or value, delete it. */
export function SecretDetail({ tag }: { tag: string }) {
  const { api, can } = useSession();
  const loaded = useLoad(() => api.getSecret(tag), [tag]);
  const secret = loaded.data;
  const [paging, setPaging] = useState<Paging>({ page: 0, pageSize: 50 });
  const versions = useLoad(() => api.listVersions(tag, paging), [tag, paging.page, paging.pageSize]);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState('');
  const save = useAction();
  const mayReveal = can('READ_SECRET_VALUES');

  // The form starts from the secret as first loaded, once per secret: a later reload must not
  // overwrite what the user is typing (see KeyDetail).
  const loadedId = secret?.id;
  useLayoutEffect(() => {
    if (secret !== undefined) setName(secret.name);
  }, [loadedId]);

  return (
    <section>
      <p>
        <a href={href('secrets')}>← All secrets</a>
      </p>
      <PageTitle>Secret {tag}</PageTitle>
      <ErrorNotice error={loaded.error} />
      {secret !== undefined && (
        <>
          <dl class="facts">
            <dt>Name</dt>
            <dd>{secret.name}</dd>
            <dt>Tag</dt>
            <dd>
              <code>{secret.tag}</code>
            </dd>
            <dt>Id</dt>
            <dd>
              <code>{secret.id}</code>
            </dd>
          </dl>

          <div class="panel">
            <h2>Value</h2>
            {mayReveal ? (
              <>
                <RevealValue tag={tag} />
                <CopyButton
                  label="Copy value without showing it"
                  text={async () => (await api.revealValue(tag)).value}
                />
              </>
            ) : (
              <p class="muted">
                Revealing values needs the READ_SECRET_VALUES permission, which this key lacks.
              </p>
            )}
          </div>

          <form
            class="panel"
            aria-labelledby="edit-secret-title"
            onSubmit={(event) => {
              event.preventDefault();
              setSaved('');
              const change: SecretChange = {};
              if (name !== secret.name) change.name = name;
              if (value !== '') change.secret = value;
              void save
                .run(() => api.updateSecret(tag, change))
                .then((updated) => {
                  if (updated !== undefined) {
                    setValue('');
                    setSaved(
                      change.secret === undefined ? 'Saved' : 'Saved: a new version holds the new value',
                    );
                    loaded.reload();
                    versions.reload();
                  }
                });
            }}
          >
            <h2 id="edit-secret-title">Change name or value</h2>
            <NameField value={name} onChange={setName} />
            <label>
              New value (empty: keep the current one)
              <input
                type="password"
                autocomplete="off"
                value={value}
                onInput={(e) => setValue(e.currentTarget.value)}
              />
            </label>
            <ErrorNotice error={save.error} />
            <button type="submit" disabled={save.busy}>
              Save
            </button>{' '}
            <span role="status">{saved}</span>
          </form>

          <div class="panel">
            <h2>Versions</h2>
            <ErrorNotice error={versions.error} />
            {versions.data !== undefined && (
              <>
                <div class="table-wrap">
                  <table>
                    <caption class="visually-hidden">Value versions</caption>
                    <thead>
                      <tr>
                        <th scope="col">Version</th>
                        <th scope="col">Created</th>
                        <th scope="col">By key</th>
                        <th scope="col">Current</th>
                      </tr>
                    </thead>
                    <tbody>
                      {versions.data.versions.map((version) => (
                        <tr key={version.version}>
                          <td>{version.version}</td>
                          <td>{when(version.createdDate)}</td>
                          <td>
                            <code>{version.createdBy ?? '—'}</code>
                          </td>
                          <td>{version.current ? 'current' : ''}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager
                  label="Versions"
                  paging={paging}
                  total={versions.data.total}
                  totalPages={versions.data.totalPages}
                  onChange={setPaging}
                />
              </>
            )}
          </div>

          <DeletePanel
            what="secret"
            name={secret.tag}
            remove={() => api.deleteSecret(tag)}
            onDeleted={() => navigate('secrets')}
          >
            <p>Its value and every version of it are deleted. This cannot be undone.</p>
          </DeletePanel>
        </>
      )}
    </section>
  );
}
