import type { ApiKey } from '../api/types';
import { roleName, when } from '../format';
import { href } from '../router';

/**
 * One page of keys (up to 1000 rows): plain keyed rows, no per-row state, handlers or effects,
 * so a full page is one cheap render and a search re-renders only the rows that change.
 */
function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  return (
    <tr>
      <td>
        <a href={href('keys', apiKey.cid)}>{apiKey.name}</a>
      </td>
      <td>{apiKey.roles.map(roleName).join(', ')}</td>
      <td>{when(apiKey.createdDate)}</td>
      <td>{apiKey.expirationDate === null ? 'never' : when(apiKey.expirationDate)}</td>
      <td>{apiKey.lastUsedDate === null ? '—' : when(apiKey.lastUsedDate)}</td>
      <td>
        <code>…{apiKey.last4}</code>
      </td>
    </tr>
  );
}

export function KeyList({ keys }: { keys: ApiKey[] }) {
  if (keys.length === 0) return <p>No keys to show.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Roles</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Token ends</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <KeyRow key={key.cid} apiKey={key} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
