/**
 * The one naming rule between tags and environment variables, both ways: a tag's variable is the
 * tag in upper case with `-` as `_` (`db-password` → `DB_PASSWORD`), and a variable's tag is the
 * name in lower case with `_` as `-` (`DB_PASSWORD` → `db-password`). `tessera run --env NAME=tag`
 * overrides the name of one tag's variable.
 */
export function envNameOf(tag: string): string {
  return tag.toUpperCase().replaceAll('-', '_');
}

export function tagOf(envName: string): string {
  return envName.toLowerCase().replaceAll('_', '-');
}

/** What the server accepts as a tag (and not an id's shape). */
export function isTag(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(text) && !/^se[0-9a-f]{16}$/.test(text);
}

/** A name a shell can export: letters, digits and `_`, not starting with a digit. */
export function isEnvName(text: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text);
}
