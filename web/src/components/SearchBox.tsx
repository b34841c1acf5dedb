/**
 * A filter over the rows already loaded: the API has no search parameter, so the console searches
 * the page it holds (up to 1000 rows) and says so.
 */
export function SearchBox({
  label,
  value,
  onInput,
  shown,
  loaded,
}: {
  label: string;
  value: string;
  onInput(value: string): void;
  shown: number;
  loaded: number;
}) {
  return (
    <div class="search">
      <label>
        {label} <input type="search" value={value} onInput={(event) => onInput(event.currentTarget.value)} />
      </label>
      <span class="muted" aria-live="polite">
        {value === '' ? `${loaded} on this page` : `${shown} of the ${loaded} on this page match`} (search
        covers the loaded page; choose 1000 per page to search more at once)
      </span>
    </div>
  );
}
