/**
 * ISO 8601 date-times as clients send them. A value without a zone (`2026-11-21T18:07:29`) is
 * UTC, as Cortex's clients assume. Returns undefined for anything that is not a real instant.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function parseDateTime(value: string): Date | undefined {
  const match = ISO_DATE_TIME.exec(value.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone] = match;
  const ms = fraction === '' ? '' : `.${fraction.slice(1, 4).padEnd(3, '0')}`;
  const offset = zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : normaliseOffset(zone);
  // Reject roll-overs such as February 30th, which Date would silently accept, whatever the zone.
  if (Number(d) < 1 || Number(d) > daysInMonth(Number(y), Number(mo))) return undefined;
  // Date reads 24:00 as the next day's midnight; RFC 3339 has no hour 24.
  if (Number(h) > 23) return undefined;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${ms}${offset}`);
  if (Number.isNaN(date.getTime())) return undefined;
  return date;
}

/** Days in a month of the proleptic Gregorian calendar; 0 for a month outside 1..12. */
function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

function normaliseOffset(zone: string): string {
  const digits = zone.replace(':', '');
  return `${digits.slice(0, 3)}:${digits.slice(3)}`;
}
