import { useState } from 'preact/hooks';
import type { CreatedKey, NewKey, RoleRef } from '../api/types';
import { ErrorNotice } from '../components/ErrorNotice';
import { NameField } from '../components/NameField';
import { fromLocalInput, lines } from '../format';
import { useSession } from '../session-context';
import { useAction } from '../use-load';
import { RolePicker } from './RolePicker';

/** The form for a new key; the created key (with its one-time token) goes to `onCreated`. */
export function KeyCreate({ onCreated }: { onCreated(key: CreatedKey): void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [roles, setRoles] = useState<RoleRef[]>([{ type: 'DEFAULT', role: 'USER' }]);
  const [expires, setExpires] = useState('');
  const [allowedIps, setAllowedIps] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const key: NewKey = { name, roles };
    if (description.trim() !== '') key.description = description;
    const expirationDate = fromLocalInput(expires);
    if (expirationDate !== undefined) key.expirationDate = expirationDate;
    if (allowedIps.trim() !== '') key.allowedIps = lines(allowedIps);
    if (rateLimit.trim() !== '') key.rateLimitPerMinute = Number(rateLimit);
    const created = await action.run(() => api.createKey(key));
    if (created !== undefined) onCreated(created);
  }

  return (
    <form class="panel" onSubmit={(event) => void submit(event)} aria-labelledby="new-key-title">
      <h2 id="new-key-title">New key</h2>
      <NameField value={name} onChange={setName} />
      <label>
        Description (optional)
        <textarea
          maxLength={4096}
          value={description}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </label>
      <RolePicker value={roles} onChange={setRoles} />
      <label>
        Expires (optional, your local time)
        <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
      </label>
      <label>
        Allowed IP addresses or CIDR ranges (optional, one per line; empty: any address)
        <textarea value={allowedIps} onInput={(e) => setAllowedIps(e.currentTarget.value)} />
      </label>
      <label>
        Rate limit, requests per minute (optional; empty: the server's default)
        <input
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          value={rateLimit}
          onInput={(e) => setRateLimit(e.currentTarget.value)}
        />
      </label>
      <ErrorNotice error={action.error} />
      <button type="submit" disabled={action.busy || roles.length === 0}>
        Create key
      </button>
    </form>
  );
}
