import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { ErrorNotice } from '../components/ErrorNotice';
import { useSession } from '../session-context';
import { useAction } from '../use-load';

/** How long a revealed value stays on the page. */
export const HIDE_AFTER_MS = 30_000;

/**
 * A secret's value, fetched only on an explicit click and dropped from the page (and from
 * memory the page holds) after HIDE_AFTER_MS, on "Hide", or when the page is left.
 */
export function RevealValue({ tag, version }: { tag: string; version?: number }) {
  const { api } = useSession();
  const [value, setValue] = useState<string | undefined>(undefined);
  const action = useAction();
  // A layout effect runs as the value is put on the page; a plain effect waits for the next
  // animation frame, which a background tab may never give, and the value would stay shown.
  useLayoutEffect(() => {
    if (value === undefined) return;
    const timer = setTimeout(() => setValue(undefined), HIDE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [value]);
  // A value is never carried over to another secret or version.
  useEffect(() => setValue(undefined), [tag, version]);
  const label = version === undefined ? 'current value' : `version ${version}`;
  return (
    <div class="reveal">
      {value === undefined ? (
        <button
          type="button"
          disabled={action.busy}
          onClick={() => {
            void action
              .run(() => api.revealValue(tag, version))
              .then((revealed) => {
                if (revealed !== undefined) setValue(revealed.value);
              });
          }}
        >
          Reveal {label}
        </button>
      ) : (
        <>
          <p>
            <code class="secret-text" data-testid="revealed-value">
              {value}
            </code>
          </p>
          <p class="muted">Hidden again after {HIDE_AFTER_MS / 1000} seconds.</p>
          <button type="button" onClick={() => setValue(undefined)}>
            Hide {label}
          </button>
        </>
      )}
      <ErrorNotice error={action.error} />
    </div>
  );
}
