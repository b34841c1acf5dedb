import type { DefaultRole, RoleRef } from '../api/types';
import { DEFAULT_ROLES } from '../api/types';
import { useSession } from '../session-context';
import { useLoad } from '../use-load';

/**
 * The roles a new key gets: default roles, and custom roles from the list when this key may read
 * it (EDIT_ROLES), by tag otherwise.
 */
export function RolePicker({ value, onChange }: { value: RoleRef[]; onChange(roles: RoleRef[]): void }) {
  const { api, can } = useSession();
  const custom = useLoad(
    () => (can('EDIT_ROLES') ? api.listRoles({ page: 0, pageSize: 1000 }) : Promise.resolve(undefined)),
    [],
  );
  const hasDefault = (role: DefaultRole) => value.some((ref) => ref.type === 'DEFAULT' && ref.role === role);
  const hasCustom = (tag: string) => value.some((ref) => ref.type === 'CUSTOM' && ref.tag === tag);
  const toggle = (ref: RoleRef, on: boolean) => {
    const same = (other: RoleRef) =>
      other.type === ref.type && other.role === ref.role && other.tag === ref.tag;
    onChange(on ? [...value.filter((other) => !same(other)), ref] : value.filter((other) => !same(other)));
  };
  const customTags = value.filter((ref) => ref.type === 'CUSTOM').map((ref) => ref.tag ?? '');
  return (
    <fieldset>
      <legend>Roles</legend>
      <div class="choices">
        {DEFAULT_ROLES.map((role) => (
          <label key={role}>
            <input
              type="checkbox"
              checked={hasDefault(role)}
              onChange={(event) => toggle({ type: 'DEFAULT', role }, event.currentTarget.checked)}
            />{' '}
            {role}
          </label>
        ))}
        {custom.data?.roles.map((role) => (
          <label key={role.tag}>
            <input
              type="checkbox"
              checked={hasCustom(role.tag)}
              onChange={(event) => toggle({ type: 'CUSTOM', tag: role.tag }, event.currentTarget.checked)}
            />{' '}
            {role.name} <span class="muted">(custom: {role.tag})</span>
          </label>
        ))}
      </div>
      {custom.data === undefined && (
        <label>
          Custom role tags (comma-separated)
          <input
            type="text"
            value={customTags.join(', ')}
            onChange={(event) => {
              const tags = event.currentTarget.value
                .split(',')
                .map((tag) => tag.trim())
                .filter((tag) => tag !== '');
              onChange([
                ...value.filter((ref) => ref.type === 'DEFAULT'),
                ...tags.map((tag): RoleRef => ({ type: 'CUSTOM', tag })),
              ]);
            }}
          />
        </label>
      )}
    </fieldset>
  );
}
