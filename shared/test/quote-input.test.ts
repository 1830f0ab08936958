import { describe, expect, it } from '@jest/globals';
import { ELLIPSIS, MAX_QUOTE_CHARS, quoteInput } from '#shared';

// Everything a terminal could act on: C0, DEL, C1, bidi, zero-width and other invisible characters.
const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;

describe('shared: quoteInput', () => {
  it.each([
    ['ESC (clear screen)', 'bo\u001b[2Jb', 'bo\\x1b[2Jb'],
    ['an OSC title sequence ended by BEL', '\u001b]0;owned\u0007x', '\\x1b]0;owned\\x07x'],
    ['an OSC 52 clipboard write ended by ST', '\u001b]52;c;Zm9v\u001b\\', '\\x1b]52;c;Zm9v\\x1b\\'],
    ['a C1 CSI (U+009B)', 'a\u009b31mb', 'a\\x9b31mb'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
    ['DEL', 'a\u007fb', 'a\\x7fb'],
    ['a newline forging an INFO line', 'alice\nINFO: x', 'alice\\nINFO: x'],
    ['a carriage return', 'a\rb', 'a\\rb'],
    ['a tab', 'a\tb', 'a\\tb'],
    ['a bidi override (U+202E)', 'bob\u202eexe', 'bob\\u202eexe'],
    ['a bidi isolate (U+2066)', '\u2066bob', '\\u2066bob'],
    ['a zero-width space (U+200B)', 'bo\u200bb', 'bo\\u200bb'],
    ['a zero-width joiner (U+200D)', 'bob\u200d', 'bob\\u200d'],
    ['a BOM (U+FEFF)', '\ufeffbob', '\\ufeffbob'],
    ['a soft hyphen (U+00AD)', 'bo\u00adb', 'bo\\xadb'],
    ['a line separator (U+2028)', 'a\u2028b', 'a\\u2028b'],
    ['a no-break space (U+00A0)', 'a\u00a0b', 'a\\xa0b'],
    ['a variation selector (U+FE0F)', 'a\ufe0f', 'a\\ufe0f'],
    ['a tag character (U+E0041, astral)', 'a\u{e0041}', 'a\\u{e0041}'],
    ['a lone surrogate', 'a\ud800b', 'a\\ud800b'],
  ])('spells out %s', (_what, input, quoted) => {
    expect(quoteInput(input)).toBe(quoted);
    expect(quoteInput(input)).not.toMatch(INVISIBLE_OR_CONTROL);
  });

  it.each([['alice'], ['émile'], ['名前'], ['bob 😀 ok'], ['a "quoted" \\ text'], ['борис']])(
    'leaves ordinary text %j as it is',
    (text) => {
      expect(quoteInput(text)).toBe(text);
    },
  );

  it(`cuts long input to ${MAX_QUOTE_CHARS} characters, the ellipsis included`, () => {
    const quoted = quoteInput('x'.repeat(1000));
    expect(quoted).toBe('x'.repeat(MAX_QUOTE_CHARS - 1) + ELLIPSIS);
    expect(quoteInput('x'.repeat(MAX_QUOTE_CHARS))).toBe('x'.repeat(MAX_QUOTE_CHARS));
    expect(quoteInput('abcdef', 4)).toBe('abc…');
  });

  it('counts code points: never half a surrogate pair', () => {
    const quoted = quoteInput('😀'.repeat(100), 5);
    expect(quoted).toBe('😀😀😀😀…');
    expect(quoted.isWellFormed()).toBe(true);
  });

  it('counts escapes at their printed length and never cuts one in half', () => {
    expect(quoteInput('\u001b'.repeat(100))).toBe('\\x1b'.repeat(9) + ELLIPSIS); // not a 10th "\\x1"
    expect(quoteInput('ab\u202e', 6)).toBe('ab…');
    expect(quoteInput('abc\u{e0041}', 8)).toBe('abc…');
    expect(quoteInput('a\n', 2)).toBe('a…');
  });

  it('is idempotent: a quote quoted again is unchanged', () => {
    for (const input of [
      'bo\u001b[2Jb',
      'alice\nINFO: x',
      '\u001b'.repeat(100),
      'x'.repeat(99),
      '😀'.repeat(60),
    ]) {
      const once = quoteInput(input);
      expect(quoteInput(once)).toBe(once);
    }
  });
});
