import { useState } from 'preact/hooks';
import type { ApiError } from '../api/problem';
import type { AllowlistEntry, Validation } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageTitle } from '../components/PageTitle';
import { useSession } from '../session-context';
import { useAction, useLoad } from '../use-load';

interface Row {
  address: string;
  description: string;
}

/**
 * The API refuses a list that would shut out the caller's own address with a violation on the
 * whole list (`/body/entries`); a bad entry's violation points at that entry instead.
 */
function isLockout(error: ApiError | undefined): boolean {
  return error?.status === 400 && error.violations.some((violation) => violation.pointer === '/body/entries');
}

const toRows = (entries: readonly AllowlistEntry[]): Row[] =>
  entries.map((entry) => ({ address: entry.address, description: entry.description ?? '' }));

/** The IP allowlist: while it holds entries, only those addresses and ranges may call at all. */
export function AllowlistPage() {
  const { api } = useSession();
  const loaded = useLoad(() => api.getAllowlist(), []);
  return (
    <section>
      <PageTitle>IP allowlist</PageTitle>
      <p>
        Empty, every address may call. With entries (IPv4 or IPv6 addresses, CIDR ranges), every other address
        is refused before its token is looked at: this console included.
      </p>
      <ErrorNotice error={loaded.error} />
      {loaded.data === undefined ? (
        loaded.loading && <p class="muted">Loading…</p>
      ) : (
        <AllowlistEditor initial={loaded.data.entries} onSaved={loaded.reload} />
      )}
    </section>
  );
}

/**
 * The list's editor, offered only once the saved list has loaded and seeded from it once: an
 * answer arriving later must never overwrite entries being typed. After a save the rows stay as
 * they were sent, which is what the API keeps (in order, as sent); the page still loads the list
 * again, and that request shows at once whether the saved list still lets this console in.
 */
function AllowlistEditor({ initial, onSaved }: { initial: readonly AllowlistEntry[]; onSaved: () => void }) {
  const { api } = useSession();
  const [rows, setRows] = useState<Row[]>(() => toRows(initial));
  const [validation, setValidation] = useState<Validation | undefined>(undefined);
  const [saved, setSaved] = useState('');
  const save = useAction();
  const validate = useAction();

  const entries = (): AllowlistEntry[] =>
    rows
      .filter((row) => row.address.trim() !== '')
      .map((row) => ({
        address: row.address.trim(),
        description: row.description === '' ? null : row.description,
      }));
  const edit = (index: number, change: Partial<Row>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));

  async function store(force: boolean) {
    setSaved('');
    setValidation(undefined);
    const sent = entries();
    const result = await save.run(() => api.replaceAllowlist(sent, force));
    if (result !== undefined) {
      setRows(toRows(sent));
      setSaved(
        result.total === 0
          ? 'Saved: the list is empty, every address may call'
          : `Saved: ${result.total} entries`,
      );
      onSaved();
    }
  }

  const lockout = isLockout(save.error);
  return (
    <form
      class="panel"
      aria-label="Allowlist entries"
      onSubmit={(event) => {
        event.preventDefault();
        void store(false);
      }}
    >
      {rows.length === 0 && <p>The list is empty: every address may call.</p>}
      <ol class="entries">
        {rows.map((row, index) => (
          <li key={index}>
            <label>
              Address or range {index + 1}
              <input
                type="text"
                required
                maxLength={64}
                value={row.address}
                onInput={(e) => edit(index, { address: e.currentTarget.value })}
              />
            </label>
            <label>
              Description {index + 1}
              <input
                type="text"
                maxLength={256}
                value={row.description}
                onInput={(e) => edit(index, { description: e.currentTarget.value })}
              />
            </label>
            <button type="button" onClick={() => setRows(rows.filter((_, i) => i !== index))}>
              Remove entry {index + 1}
            </button>
            {validation?.entries[index] !== undefined && (
              <span class={validation.entries[index].valid ? 'ok' : 'bad'}>
                {validation.entries[index].valid
                  ? 'valid'
                  : (validation.entries[index] as { message: string }).message}
              </span>
            )}
          </li>
        ))}
      </ol>
      <button type="button" onClick={() => setRows([...rows, { address: '', description: '' }])}>
        Add entry
      </button>{' '}
      <button
        type="button"
        disabled={validate.busy}
        onClick={() => {
          void validate.run(() => api.validateAllowlist(entries())).then(setValidation);
        }}
      >
        Validate
      </button>{' '}
      <button type="submit" disabled={save.busy}>
        Save list
      </button>{' '}
      <span role="status">{saved}</span>
      <ErrorNotice error={validate.error} />
      {lockout ? (
        <div class="notice warning" role="alert" aria-labelledby="lockout-title">
          <h2 id="lockout-title">This list would lock you out</h2>
          <p>{save.error?.detail}</p>
          <p>
            Saved anyway, it refuses your next request, this console's included. The way back is{' '}
            <code>tessera recover-admin --clear-ip-allowlist</code> on the server's host.
          </p>
          <p class="muted">Request ID: {save.error?.requestId}</p>
          <button type="button" class="danger" onClick={() => void store(true)}>
            Save anyway (force) and lock myself out
          </button>
        </div>
      ) : (
        <ErrorNotice error={save.error} />
      )}
    </form>
  );
}
