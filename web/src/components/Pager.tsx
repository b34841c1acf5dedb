import type { Paging } from '../api/types';

export const PAGE_SIZES = [50, 250, 1000] as const;

/** Previous / next and the page size of a paginated list; the API's pages are 0-indexed. */
export function Pager({
  label,
  paging,
  total,
  totalPages,
  onChange,
}: {
  label: string;
  paging: Paging;
  total: number;
  totalPages: number;
  onChange(paging: Paging): void;
}) {
  const last = Math.max(totalPages - 1, 0);
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button
        type="button"
        disabled={paging.page <= 0}
        onClick={() => onChange({ ...paging, page: paging.page - 1 })}
      >
        Previous page
      </button>
      <span aria-live="polite">
        Page {Math.min(paging.page, last) + 1} of {Math.max(totalPages, 1)} ({total} in all)
      </span>
      <button
        type="button"
        disabled={paging.page >= last}
        onClick={() => onChange({ ...paging, page: paging.page + 1 })}
      >
        Next page
      </button>
      <label>
        Per page{' '}
        <select
          value={paging.pageSize}
          onChange={(event) => onChange({ page: 0, pageSize: Number(event.currentTarget.value) })}
        >
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
