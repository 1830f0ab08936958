/**
 * Client input quoted back in an ERROR or INFO, made inert and visible (../RELIABILITY.md principle
 * 7, from the server's side). The wire escapes nothing once JSON is decoded, so a naive client of
 * another student would print ESC, OSC title sequences, C1 controls, a newline that forges an "INFO:"
 * line, or a bidi override straight to its terminal. Here each of those is spelled out instead.
 */

/** The default length of a quote, in characters (code points) including the ellipsis. */
export const MAX_QUOTE_CHARS = 40;
/** Ends a quote that was cut short. */
export const ELLIPSIS = '…';

// Controls (C0, DEL, C1), format characters (bidi controls, zero-width, soft hyphen, BOM, tags),
// line and paragraph separators, spaces other than U+0020, lone surrogates, and the invisible rest
// (variation selectors, Hangul fillers, the combining grapheme joiner).
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Default_Ignorable_Code_Point}]|(?! )\p{Zs}/u;
const SHORT_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
]);

/** One unsafe character as a visible escape: `\n`, `\x1b`, `\u202e`, `\u{e0041}`. */
function escapeChar(char: string): string {
  const short = SHORT_ESCAPES.get(char);
  if (short) return short;
  const code = char.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/**
 * `text` as it may be quoted back to a client: controls, bidi, zero-width and other invisible or
 * format characters spelled out as escapes, and cut to at most `maxChars` characters (code points,
 * never half a surrogate pair or half an escape) with an ellipsis. Idempotent: a quote quoted again
 * is unchanged, so layers may each apply it.
 */
export function quoteInput(text: string, maxChars = MAX_QUOTE_CHARS): string {
  let out = '';
  let chars = 0;
  for (const char of text) {
    // String iteration yields a lone surrogate as one unit: it is escaped like any unsafe character.
    const piece = UNSAFE.test(char) ? escapeChar(char) : char;
    const pieceChars = piece === char ? 1 : piece.length;
    if (chars + pieceChars > maxChars) {
      // Room for the ellipsis: drop whole pieces until it fits (at most a few).
      return cutToFit(out, maxChars - 1) + ELLIPSIS;
    }
    out += piece;
    chars += pieceChars;
  }
  return out;
}

/** `quoted` (already safe) cut to `maxChars` code points without splitting an escape. */
function cutToFit(quoted: string, maxChars: number): string {
  const chars = [...quoted];
  if (chars.length <= maxChars) return quoted;
  let cut = chars.slice(0, maxChars).join('');
  // An escape cut in the middle would read as something else: drop its start too.
  cut = cut.replace(/\\(?:x[0-9a-f]?|u(?:\{[0-9a-f]*|[0-9a-f]{0,3})?)?$/, '');
  return cut;
}
