import { useState } from 'preact/hooks';
import type { Paging, Role } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorNotice } from '../components/ErrorNotice';
import { Pager } from '../components/Pager';
import { PageTitle } from '../components/PageTitle';
import { useSession } from '../session-context';
import { useAction, useLoad } from '../use-load';
import { RoleForm } from './RoleForm';

/** Custom roles: permissions a key may hold, optionally limited to secrets by tag pattern. */
export function RolesPage() {
  const { api } = useSession();
  const [paging, setPaging] = useState<Paging>({ page: 0, pageSize: 250 });
  const list = useLoad(() => api.listRoles(paging), [paging.page, paging.pageSize]);
  const [editing, setEditing] = useState<Role | 'new' | undefined>(undefined);
  const [deleting, setDeleting] = useState<Role | undefined>(undefined);
  const remove = useAction();
  const done = () => {
    setEditing(undefined);
    list.reload();
  };
  return (
    <section>
      <PageTitle>Roles</PageTitle>
      {editing === undefined ? (
        <button type="button" onClick={() => setEditing('new')}>
          New role
        </button>
      ) : (
        <RoleForm
          key={editing === 'new' ? 'new' : editing.tag}
          role={editing === 'new' ? undefined : editing}
          onSaved={done}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <ErrorNotice error={list.error ?? remove.error} />
      {list.data !== undefined && (
        <>
          {list.data.roles.length === 0 ? (
            <p>No custom roles yet.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Custom roles</caption>
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Name</th>
                    <th scope="col">Permissions</th>
                    <th scope="col">Secrets reached</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.roles.map((role) => (
                    <tr key={role.tag}>
                      <td>
                        <code>{role.tag}</code>
                      </td>
                      <td>{role.name}</td>
                      <td>{role.permissions.join(', ') || 'none'}</td>
                      <td>{role.secretTags === null ? 'every secret' : role.secretTags.join(', ')}</td>
                      <td class="row-actions">
                        <button
                          type="button"
                          onClick={() => setEditing(role)}
                          aria-label={`Edit role ${role.tag}`}
                        >
                          Edit
                        </button>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => setDeleting(role)}
                          aria-label={`Delete role ${role.tag}`}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager
            label="Roles"
            paging={paging}
            total={list.data.total}
            totalPages={list.data.totalPages}
            onChange={setPaging}
          />
        </>
      )}
      {deleting !== undefined && (
        <ConfirmDialog
          title={`Delete the role “${deleting.tag}”?`}
          confirmLabel={`Delete “${deleting.tag}”`}
          busy={remove.busy}
          onCancel={() => setDeleting(undefined)}
          onConfirm={() => {
            void remove
              .run(() => api.deleteRole(deleting.tag))
              .then(() => {
                setDeleting(undefined);
                list.reload();
              });
          }}
        >
          <p>A role that keys still hold cannot be deleted: take it off those keys first.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
