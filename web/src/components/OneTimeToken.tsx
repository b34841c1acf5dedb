import { useEffect, useRef } from 'preact/hooks';
import { CopyButton } from './CopyButton';

/** A new token, shown this once: copy it now, it is never shown again (only its last four characters). */
export function OneTimeToken({ name, token, onDone }: { name: string; token: string; onDone(): void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="notice token" aria-labelledby="token-title">
      <h2 id="token-title" ref={heading} tabIndex={-1}>
        The token of “{name}”
      </h2>
      <p>
        <strong>Copy it now: you will not see this token again.</strong> Tessera keeps only its hash.
      </p>
      <p>
        <code class="secret-text" data-testid="one-time-token">
          {token}
        </code>
      </p>
      <CopyButton label="Copy token" text={() => token} />
      <p>
        <button type="button" onClick={onDone}>
          I have copied it
        </button>
      </p>
    </section>
  );
}
