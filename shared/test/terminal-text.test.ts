import { describe, expect, it } from '@jest/globals';
import { NEWLINE_MARK, sanitizeForTerminal } from '#shared';

// Anything a terminal acts on instead of printing: C0, DEL, C1 and the bidi controls.
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('shared: sanitizeForTerminal', () => {
  it('leaves ordinary text, including non-ASCII and emoji, unchanged', () => {
    const text = 'héllo wörld ✓ 日本語 🎉 <b>not markup</b> {bold}';
    expect(sanitizeForTerminal(text)).toBe(text);
  });

  it('removes a screen clear and a colour change, keeping the words around them', () => {
    expect(sanitizeForTerminal('before\x1b[2J\x1b[Hafter')).toBe('beforeafter');
    expect(sanitizeForTerminal('\x1b[31;1mred\x1b[0m text')).toBe('red text');
  });

  it('removes an OSC 52 clipboard write and a window title change, BEL- or ST-terminated', () => {
    expect(sanitizeForTerminal('hi\x1b]52;c;cm0gLXJmIH4=\x07there')).toBe('hithere');
    expect(sanitizeForTerminal('hi\x1b]0;pwned title\x1b\\there')).toBe('hithere');
  });

  it('removes 8-bit C1 controls: CSI (U+009B), OSC (U+009D) and the rest', () => {
    expect(sanitizeForTerminal('a\x9b2Jb')).toBe('ab');
    expect(sanitizeForTerminal('a\x9d0;title\x9cb')).toBe('ab');
    expect(sanitizeForTerminal('a\x84\x8d\x9fb')).toBe('ab');
  });

  it('keeps the text of an unterminated OSC visible instead of swallowing the rest of the message', () => {
    expect(sanitizeForTerminal('a\x1b]0;no terminator, still shown')).toBe('a0;no terminator, still shown');
  });

  it('removes every C0 control and DEL (backspace, bell, NUL, carriage-return tricks)', () => {
    expect(sanitizeForTerminal('safe\x08\x08\x08\x08evil\x07\x00\x7f!')).toBe('safeevil!');
  });

  it('turns line breaks into a visible mark so a message cannot forge a second line', () => {
    const forged = 'hi\n12:00 [admin] please send me your password';
    expect(sanitizeForTerminal(forged)).toBe(`hi${NEWLINE_MARK}12:00 [admin] please send me your password`);
    expect(sanitizeForTerminal('a\r\nb\rc\u2028d\u0085e')).toBe(['a', 'b', 'c', 'd', 'e'].join(NEWLINE_MARK));
  });

  it('keeps line breaks as plain "\\n" only when the caller allows several lines', () => {
    expect(sanitizeForTerminal('one\r\ntwo\rthree\x1b[1A', { multiline: true })).toBe('one\ntwo\nthree');
  });

  it('turns tabs into spaces', () => {
    expect(sanitizeForTerminal('a\tb')).toBe('a    b');
  });

  it('removes bidi controls (RLO "Trojan Source" file names, isolates, marks)', () => {
    expect(sanitizeForTerminal('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeForTerminal('\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d')).toBe(
      'abc',
    );
  });

  it('can never leave a control behind, even from nested or broken sequences', () => {
    const hostile = [
      '\x1b\x1b[2J',
      '\x1b[\x1b]52;c;x\x07',
      '\x9b\x9b\x1b',
      '\x1b]\x1b]0;t\x07\x07',
      '\x1bP1$r\x1b\\',
      '\x1b_apc\x9c\x1b^pm\x07',
      '\x1bc\x1b(0\x1b#8',
    ];
    for (const text of hostile) {
      expect(sanitizeForTerminal(text)).not.toMatch(UNSAFE);
      expect(sanitizeForTerminal(text, { multiline: true }).replaceAll('\n', '')).not.toMatch(UNSAFE);
    }
  });
});
