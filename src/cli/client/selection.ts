import { type RevealedValue, type TesseraClient, TesseraProblem } from '../../client/index.js';
import { collect } from './connect.js';
import { UsageError } from './output.js';

/** Which secrets a command takes: named tags, a tag prefix, or (neither) every one the key may see. */
export type Selection = { tags: string[] } | { tagPrefix: string } | { all: true };

/** The most values one bulk reveal answers. */
const TAGS_PER_CALL = 500;
/** What the bulk reveal takes as a prefix. */
const WELL_FORMED_PREFIX = /^[A-Za-z0-9_-]{0,100}$/;

export function selectionOf(tags: string | undefined, tagPrefix: string | undefined): Selection {
  if (tags !== undefined && tagPrefix !== undefined)
    throw new UsageError('give --tags or --tag-prefix, not both');
  if (tags !== undefined) {
    const list = tags
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== '');
    if (list.length === 0) throw new UsageError('--tags names no tag');
    return { tags: [...new Set(list)] };
  }
  if (tagPrefix !== undefined) {
    if (tagPrefix === '') throw new UsageError('--tag-prefix is empty');
    return { tagPrefix };
  }
  return { all: true };
}

/** True when a change to `tag` concerns the selection. */
export function selects(selection: Selection, tag: string): boolean {
  if ('tags' in selection) return selection.tags.includes(tag);
  if ('tagPrefix' in selection) return tag.startsWith(selection.tagPrefix);
  return true;
}

/**
 * The current values of the selection, in one round trip when it can be (a prefix, `""` for
 * every secret: the bulk reveal answers up to 500 values). Past 500, the tags are listed and
 * revealed 500 at a time (listing needs CREATE_SECRETS as well).
 */
export async function revealSelection(client: TesseraClient, selection: Selection): Promise<RevealedValue[]> {
  if ('tags' in selection) return revealTags(client, selection.tags);
  const tagPrefix = 'tagPrefix' in selection ? selection.tagPrefix : '';
  try {
    return await client.secrets.revealMany({ tagPrefix });
  } catch (error) {
    // A prefix of tag characters can only be refused for matching too many; any other 400 stands.
    const tooMany =
      error instanceof TesseraProblem && error.status === 400 && WELL_FORMED_PREFIX.test(tagPrefix);
    if (!tooMany) throw error;
  }
  const tags = (await collect(client.secrets.list()))
    .map((s) => s.tag)
    .filter((tag) => tag.startsWith(tagPrefix));
  return revealTags(client, tags);
}

export async function revealTags(client: TesseraClient, tags: readonly string[]): Promise<RevealedValue[]> {
  const values: RevealedValue[] = [];
  for (let at = 0; at < tags.length; at += TAGS_PER_CALL) {
    values.push(...(await client.secrets.revealMany({ tags: tags.slice(at, at + TAGS_PER_CALL) })));
  }
  return values;
}
