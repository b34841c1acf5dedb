import { useLayoutEffect, useState } from 'preact/hooks';
import type { RolledKey } from '../api/types';
import { DeletePanel } from '../components/DeletePanel';
import { ErrorNotice } from '../components/ErrorNotice';
import { NameField } from '../components/NameField';
import { OneTimeToken } from '../components/OneTimeToken';
import { PageTitle } from '../components/PageTitle';
import { roleName, when } from '../format';
import { href, navigate } from '../router';
import { useSession } from '../session-context';
import { useAction, useLoad } from '../use-load';

/** How long the old token keeps working after a roll (0: refused at once; at most 30 days). */
const GRACE_PERIODS: [seconds: number, label: string][] = [
  [0, 'Refuse the old token at once'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];

/** One key: its details, rename and re-describe, roll with a grace period, delete. */
export function KeyDetail({ cid }: { cid: string }) {
  const { api } = useSession();
  const loaded = useLoad(() => api.getKey(cid), [cid]);
  const key = loaded.data;
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [grace, setGrace] = useState(3600);
  const [rolled, setRolled] = useState<RolledKey | undefined>(undefined);
  const save = useAction();
  const roll = useAction();
  const [saved, setSaved] = useState(false);

  // The form starts from the key as first loaded, once per key: a later reload (after a roll)
  // must not overwrite what the user is typing. As a layout effect, before anything can be typed.
  const loadedCid = key?.cid;
  useLayoutEffect(() => {
    if (key !== undefined) {
      setName(key.name);
      setDescription(key.description ?? '');
    }
  }, [loadedCid]);

  return (
    <section>
      <p>
        <a href={href('keys')}>← All keys</a>
      </p>
      <PageTitle>Key {key?.name ?? cid}</PageTitle>
      <ErrorNotice error={loaded.error} />
      {key !== undefined && (
        <>
          <dl class="facts">
            <dt>Key id</dt>
            <dd>
              <code>{key.cid}</code>
            </dd>
            <dt>Token ends</dt>
            <dd>
              <code>…{key.last4}</code>
            </dd>
            <dt>Roles</dt>
            <dd>{key.roles.map(roleName).join(', ')}</dd>
            <dt>Created</dt>
            <dd>{when(key.createdDate)}</dd>
            <dt>Expires</dt>
            <dd>{key.expirationDate === null ? 'never' : when(key.expirationDate)}</dd>
            <dt>Last used</dt>
            <dd>{key.lastUsedDate === null ? 'not yet' : when(key.lastUsedDate)}</dd>
            <dt>Allowed IPs</dt>
            <dd>{key.allowedIps === null ? 'any address' : key.allowedIps.join(', ')}</dd>
            <dt>Rate limit</dt>
            <dd>
              {key.rateLimitPerMinute === null
                ? "the server's default"
                : `${key.rateLimitPerMinute} per minute`}
            </dd>
          </dl>

          <form
            class="panel"
            aria-labelledby="edit-key-title"
            onSubmit={(event) => {
              event.preventDefault();
              setSaved(false);
              void save
                .run(() => api.updateKey(cid, { name, description: description === '' ? null : description }))
                .then((updated) => {
                  if (updated !== undefined) {
                    setSaved(true);
                    loaded.reload();
                  }
                });
            }}
          >
            <h2 id="edit-key-title">Name and description</h2>
            <NameField value={name} onChange={setName} />
            <label>
              Description
              <textarea
                maxLength={4096}
                value={description}
                onInput={(e) => setDescription(e.currentTarget.value)}
              />
            </label>
            <ErrorNotice error={save.error} />
            <button type="submit" disabled={save.busy}>
              Save
            </button>{' '}
            <span role="status">{saved ? 'Saved' : ''}</span>
          </form>

          {rolled !== undefined ? (
            <OneTimeToken
              name={rolled.name}
              token={rolled.apiKey}
              onDone={() => {
                setRolled(undefined);
                loaded.reload();
              }}
            />
          ) : (
            <form
              class="panel"
              aria-labelledby="roll-key-title"
              onSubmit={(event) => {
                event.preventDefault();
                void roll
                  .run(() => api.rollKey(cid, { expireOldAfterSeconds: grace }))
                  .then((result) => {
                    if (result !== undefined) setRolled(result);
                  });
              }}
            >
              <h2 id="roll-key-title">Roll the token</h2>
              <p>
                A new token replaces this one; the key keeps its id, roles and settings. The grace period lets
                what uses the old token move to the new one (never past the key's own expiry).
              </p>
              <label>
                The old token keeps working for
                <select value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
                  {GRACE_PERIODS.map(([seconds, label]) => (
                    <option key={seconds} value={seconds}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              <ErrorNotice error={roll.error} />
              <button type="submit" disabled={roll.busy}>
                Roll token
              </button>
            </form>
          )}

          <DeletePanel
            what="key"
            name={key.name}
            remove={() => api.deleteKey(cid)}
            onDeleted={() => navigate('keys')}
          >
            <p>Its token (…{key.last4}) stops working at once, on every node. This cannot be undone.</p>
          </DeletePanel>
        </>
      )}
    </section>
  );
}
