import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useAction } from '../use-load';
import { ConfirmDialog } from './ConfirmDialog';
import { ErrorNotice } from './ErrorNotice';

/**
 * The "Delete" panel of a detail page: a button, then a confirmation that names the object, then
 * the delete; `onDeleted` runs only once it has succeeded (a refusal is shown in the panel).
 */
export function DeletePanel({
  what,
  name,
  remove,
  onDeleted,
  children,
}: {
  /** "key", "secret": the button reads "Delete key…". */
  what: string;
  /** How the confirmation names the object. */
  name: string;
  remove(): Promise<unknown>;
  onDeleted(): void;
  /** What the confirmation says will happen. */
  children: ComponentChildren;
}) {
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  return (
    <>
      <div class="panel">
        <h2>Delete</h2>
        <ErrorNotice error={action.error} />
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete {what}…
        </button>
      </div>
      {confirming && (
        <ConfirmDialog
          title={`Delete the ${what} “${name}”?`}
          confirmLabel={`Delete “${name}”`}
          busy={action.busy}
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            void action
              .run(() => remove().then(() => true))
              .then((deleted) => {
                setConfirming(false);
                if (deleted === true) onDeleted();
              });
          }}
        >
          {children}
        </ConfirmDialog>
      )}
    </>
  );
}
