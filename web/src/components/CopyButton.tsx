import { useState } from 'preact/hooks';
import { asApiError } from '../api/problem';

/**
 * Copies text to the clipboard without putting it on the page: `text` may fetch it first (a
 * secret's value). The clipboard needs a secure context (HTTPS, or localhost).
 */
export function CopyButton({ label, text }: { label: string; text: () => string | Promise<string> }) {
  const [status, setStatus] = useState('');
  async function copy() {
    if (navigator.clipboard === undefined) {
      setStatus('Copying needs HTTPS or localhost');
      return;
    }
    try {
      await navigator.clipboard.writeText(await text());
      setStatus('Copied');
    } catch (error) {
      setStatus(`Not copied: ${asApiError(error).detail}`);
    }
  }
  return (
    <span class="copy">
      <button type="button" onClick={() => void copy()}>
        {label}
      </button>{' '}
      <span class="muted" role="status">
        {status}
      </span>
    </span>
  );
}
