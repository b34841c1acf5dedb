import type { RoleRef } from './api/types';

/** A date-time as the reader's locale writes it, or a dash for none. */
export function when(value: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

export function roleName(role: RoleRef): string {
  return role.type === 'CUSTOM' ? `custom: ${role.tag ?? '?'}` : (role.role ?? '?');
}

/** A `datetime-local` input's value (the reader's local time) as an ISO 8601 instant. */
export function fromLocalInput(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Lines of a textarea, trimmed, empty ones dropped. */
export function lines(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
