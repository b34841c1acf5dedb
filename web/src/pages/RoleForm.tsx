import { useState } from 'preact/hooks';
import type { Permission, Role, RoleInput } from '../api/types';
import { PERMISSIONS } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { NameField } from '../components/NameField';
import { lines } from '../format';
import { useSession } from '../session-context';
import { useAction } from '../use-load';

/** Creates a role, or replaces everything of `role` but its tag. */
export function RoleForm({ role, onSaved, onCancel }: { role?: Role; onSaved(): void; onCancel(): void }) {
  const { api } = useSession();
  const [tag, setTag] = useState(role?.tag ?? '');
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [permissions, setPermissions] = useState<Permission[]>(role?.permissions ?? []);
  const [secretTags, setSecretTags] = useState((role?.secretTags ?? []).join('\n'));
  const action = useAction();
  const title = role === undefined ? 'New role' : `Edit role ${role.tag}`;
  return (
    <form
      class="panel"
      aria-label={title}
      onSubmit={(event) => {
        event.preventDefault();
        const patterns = lines(secretTags);
        const input: RoleInput = {
          tag,
          name,
          description: description === '' ? null : description,
          permissions,
          secretTags: patterns.length === 0 ? null : patterns,
        };
        void action
          .run(() => (role === undefined ? api.createRole(input) : api.updateRole(role.tag, input)))
          .then((saved) => {
            if (saved !== undefined) onSaved();
          });
      }}
    >
      <h2>{title}</h2>
      <label>
        Tag (never changes)
        <input
          type="text"
          required
          maxLength={100}
          readOnly={role !== undefined}
          value={tag}
          onInput={(e) => setTag(e.currentTarget.value)}
        />
      </label>
      <NameField value={name} onChange={setName} />
      <label>
        Description (optional)
        <textarea
          maxLength={4096}
          value={description}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </label>
      <fieldset>
        <legend>Permissions</legend>
        <div class="choices">
          {PERMISSIONS.map((permission) => (
            <label key={permission}>
              <input
                type="checkbox"
                checked={permissions.includes(permission)}
                onChange={(e) =>
                  setPermissions(
                    e.currentTarget.checked
                      ? [...permissions, permission]
                      : permissions.filter((other) => other !== permission),
                  )
                }
              />{' '}
              {permission}
            </label>
          ))}
        </div>
      </fieldset>
      <label>
        Secret tag patterns its secret permissions reach (one per line, * matches anything; empty: every
        secret)
        <textarea value={secretTags} onInput={(e) => setSecretTags(e.currentTarget.value)} />
      </label>
      <ErrorNotice error={action.error} />
      <button type="submit" disabled={action.busy}>
        {role === undefined ? 'Create role' : 'Save role'}
      </button>{' '}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
