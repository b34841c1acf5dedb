import { useState } from 'preact/hooks';
import type { ApiKey, CreatedKey, Paging } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { OneTimeToken } from '../components/OneTimeToken';
import { Pager } from '../components/Pager';
import { PageTitle } from '../components/PageTitle';
import { SearchBox } from '../components/SearchBox';
import { roleName } from '../format';
import { useSession } from '../session-context';
import { useLoad } from '../use-load';
import { KeyCreate } from './KeyCreate';
import { KeyList } from './KeyList';

function matches(key: ApiKey, search: string): boolean {
  const needle = search.toLowerCase();
  return [key.name, key.cid, key.description ?? '', key.last4, ...key.roles.map(roleName)].some((text) =>
    text.toLowerCase().includes(needle),
  );
}

/** The keys: a page of them, searchable, and a form for a new one. */
export function KeysPage() {
  const { api } = useSession();
  const [paging, setPaging] = useState<Paging>({ page: 0, pageSize: 250 });
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedKey | undefined>(undefined);
  const list = useLoad(() => api.listKeys(paging), [paging.page, paging.pageSize]);
  const keys: ApiKey[] = list.data?.apiKeys ?? [];
  const shown = search === '' ? keys : keys.filter((key) => matches(key, search));

  return (
    <section>
      <PageTitle>API keys</PageTitle>
      {created !== undefined ? (
        <OneTimeToken
          name={created.name}
          token={created.apiKey}
          onDone={() => {
            setCreated(undefined);
            list.reload();
          }}
        />
      ) : creating ? (
        <>
          <KeyCreate
            onCreated={(key) => {
              setCreating(false);
              setCreated(key);
            }}
          />
          <button type="button" onClick={() => setCreating(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setCreating(true)}>
          New key
        </button>
      )}
      <ErrorNotice error={list.error} />
      {list.data !== undefined && (
        <>
          <SearchBox
            label="Search keys"
            value={search}
            onInput={setSearch}
            shown={shown.length}
            loaded={keys.length}
          />
          <KeyList keys={shown} />
          <Pager
            label="Keys"
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
