import { DEST_ALL, MAX_USERNAME_CHARS } from './limits.ts';

// Letters, marks, digits and a few joiners; nothing else (no spaces, controls, format/bidi
// characters, symbols or emoji). Checked after NFKC so full-width and compatibility forms count.
const ALLOWED = /^[\p{L}\p{M}\p{Nd}_.\-']+$/u;
const SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u];

// Cyrillic and Greek letters that render like Latin ones: folded so that "bоb" (Cyrillic о) and
// "bob" share a key. Not the full Unicode confusables table, but the letters seen in impersonation.
const LOOKALIKES: Record<string, string> = {
  а: 'a',
  в: 'b',
  с: 'c',
  ԁ: 'd',
  е: 'e',
  һ: 'h',
  і: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  ԛ: 'q',
  ѕ: 's',
  т: 't',
  у: 'y',
  х: 'x',
  ѡ: 'w',
  ӏ: 'l',
  ь: 'b',
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
};
const LOOKALIKE_CHARS = new RegExp(`[${Object.keys(LOOKALIKES).join('')}]`, 'gu');

/**
 * The identity of a name: NFKC, lower case, look-alike letters folded. Two names with the same key
 * are the same user ("Bob", "bob" and full-width "ＢＯＢ" all give "bob").
 */
export function usernameKey(name: string): string {
  return name
    .normalize('NFKC')
    .toLowerCase()
    .replace(LOOKALIKE_CHARS, (c) => LOOKALIKES[c]);
}

/** Why a requested username is refused, or undefined when it is acceptable. */
export function checkUsername(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'USERNAME must be a string';
  if (!name.isWellFormed()) return 'username contains an unpaired surrogate';
  const chars = [...name].length;
  if (chars === 0) return 'username is empty';
  if (chars > MAX_USERNAME_CHARS) return `username is longer than ${MAX_USERNAME_CHARS} characters`;
  if (name.startsWith('#')) return 'usernames cannot start with # (reserved for groups)';
  if (name !== name.normalize('NFKC')) return 'username must be written in its normal (NFKC) form';
  if (/\p{Default_Ignorable_Code_Point}/u.test(name)) return 'usernames cannot contain invisible characters';
  if (!ALLOWED.test(name)) {
    return "usernames may hold only letters, digits and _ . - ' (no spaces, controls or symbols)";
  }
  if (usernameKey(name) === usernameKey(DEST_ALL)) return `${DEST_ALL} is reserved for messages to everyone`;
  if (SCRIPTS.filter((script) => script.test(name)).length > 1) {
    return 'usernames cannot mix Latin, Cyrillic and Greek letters';
  }
  return undefined;
}
