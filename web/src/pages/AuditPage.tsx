import { useState } from 'preact/hooks';
import type { AuditQuery, Paging } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { Pager } from '../components/Pager';
import { PageTitle } from '../components/PageTitle';
import { fromLocalInput, lines, when } from '../format';
import { useSession } from '../session-context';
import { useLoad } from '../use-load';

const ACTIONS = ['CREATE', 'READ', 'UPDATE', 'DELETE'] as const;
const OBJECT_TYPES = ['API_KEY', 'SECRET', 'ROLE', 'IP_ALLOWLIST', 'AUDIT_LOG', 'MASTER_KEY'] as const;

interface Filters {
  actions: string[];
  objectTypes: string[];
  actor: string;
  ip: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { actions: [], objectTypes: [], actor: '', ip: '', from: '', to: '' };

/** The filters as Cortex's query parameters (comma-separated lists; instants in ISO 8601). */
function queryOf(filters: Filters, paging: Paging): AuditQuery {
  const list = (values: string[]) => (values.length === 0 ? undefined : values.join(','));
  return {
    ...paging,
    actions: list(filters.actions),
    objectTypes: list(filters.objectTypes),
    actorApiKeyIdentifiers: list(lines(filters.actor)),
    actorIpAddresses: list(lines(filters.ip)),
    startTime: fromLocalInput(filters.from),
    endTime: fromLocalInput(filters.to),
  };
}

function Choices({
  legend,
  options,
  value,
  onChange,
}: {
  legend: string;
  options: readonly string[];
  value: string[];
  onChange(value: string[]): void;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div class="choices">
        {options.map((option) => (
          <label key={option}>
            <input
              type="checkbox"
              checked={value.includes(option)}
              onChange={(e) =>
                onChange(
                  e.currentTarget.checked ? [...value, option] : value.filter((other) => other !== option),
                )
              }
            />{' '}
            {option}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** The audit log, newest first, with Cortex's filters; applied on "Apply filters". */
export function AuditPage() {
  const { api } = useSession();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Filters>(NO_FILTERS);
  const [paging, setPaging] = useState<Paging>({ page: 0, pageSize: 50 });
  const list = useLoad(
    () => api.listAudit(queryOf(applied, paging)),
    [applied, paging.page, paging.pageSize],
  );
  return (
    <section>
      <PageTitle>Audit log</PageTitle>
      <form
        class="panel filters"
        aria-label="Audit log filters"
        onSubmit={(event) => {
          event.preventDefault();
          setPaging({ ...paging, page: 0 });
          setApplied(draft);
        }}
      >
        <Choices
          legend="Actions"
          options={ACTIONS}
          value={draft.actions}
          onChange={(actions) => setDraft({ ...draft, actions })}
        />
        <Choices
          legend="Object types"
          options={OBJECT_TYPES}
          value={draft.objectTypes}
          onChange={(objectTypes) => setDraft({ ...draft, objectTypes })}
        />
        <label>
          Actor key ids (comma-separated)
          <input
            type="text"
            value={draft.actor}
            onInput={(e) => setDraft({ ...draft, actor: e.currentTarget.value })}
          />
        </label>
        <label>
          Client IP addresses (comma-separated)
          <input
            type="text"
            value={draft.ip}
            onInput={(e) => setDraft({ ...draft, ip: e.currentTarget.value })}
          />
        </label>
        <label>
          From (your local time)
          <input
            type="datetime-local"
            value={draft.from}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
          />
        </label>
        <label>
          To (your local time)
          <input
            type="datetime-local"
            value={draft.to}
            onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
          />
        </label>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            onClick={() => {
              setDraft(NO_FILTERS);
              setApplied(NO_FILTERS);
              setPaging({ ...paging, page: 0 });
            }}
          >
            Clear filters
          </button>
        </div>
      </form>
      <ErrorNotice error={list.error} />
      {list.data !== undefined && (
        <>
          {list.data.logs.length === 0 ? (
            <p>No events match.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Audit events</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Object</th>
                    <th scope="col">Actor</th>
                    <th scope="col">IP</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Detail</th>
                    <th scope="col">Request ID</th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.logs.map((event) => (
                    <tr key={event.id}>
                      <td>{when(event.timestamp)}</td>
                      <td>{event.action}</td>
                      <td>
                        {event.objectType} <code>{event.objectIdentifier ?? ''}</code>
                      </td>
                      <td>
                        <code>{event.actorIdentifier}</code>
                      </td>
                      <td>{event.ipAddress ?? '—'}</td>
                      <td class={event.outcome === 'DENIED' ? 'bad' : ''}>{event.outcome}</td>
                      <td>{event.detail ?? ''}</td>
                      <td>
                        <code>{event.requestId ?? ''}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager
            label="Audit events"
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
