import { describe, expect, it } from '@jest/globals';
import { MAX_USERNAME_CHARS, checkUsername, describeNameClash, usernameKey } from '#shared';
import { LOOKALIKES_OF_ONLINE_USERS } from '#shared/test-kit/lookalike-names';

describe('shared: usernames checkUsername', () => {
  it.each([
    ['alice'],
    ['Bob_2'],
    ['émile'], // NFC precomposed é (U+00E9)
    ['борис'],
    ['ζωή'],
    ['名前'],
    ["o'brien-jr.x"],
    ['__proto__'],
    ['constructor'],
    ['toString'],
    ['a'.repeat(MAX_USERNAME_CHARS)],
    ['ж'.repeat(MAX_USERNAME_CHARS)], // 32 characters, 64 bytes: the limit counts characters
  ])('accepts %j', (name) => {
    expect(checkUsername(name)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['33 characters', 'a'.repeat(MAX_USERNAME_CHARS + 1)],
    ['a leading # (groups)', '#general'],
    ['ALL', 'ALL'],
    ['all', 'all'],
    ['aLl', 'aLl'],
    ['ALL with a Cyrillic А', 'АLL'],
    ['ALL with a Greek Α', 'ΑLL'],
    ['a space', 'bob smith'],
    ['a leading space', ' bob'],
    ['a tab', 'bob\tx'],
    ['a newline', 'bob\n'],
    ['a carriage return', 'bob\rx'],
    ['NUL', 'bob\u0000'],
    ['ESC (a terminal escape)', 'bob\u001b[31m'],
    ['DEL', 'bob\u007f'],
    ['a C1 control (NEL U+0085)', 'bob\u0085'],
    ['a C1 CSI (U+009B)', 'bob\u009b31m'],
    ['a bidi override (U+202E)', 'bob\u202eexe'],
    ['a bidi isolate (U+2066)', '\u2066bob'],
    ['an Arabic letter mark (U+061C)', 'bob\u061c'],
    ['a zero-width space (U+200B)', 'bo\u200bb'],
    ['a zero-width joiner (U+200D)', 'bob\u200d'],
    ['a zero-width non-joiner (U+200C)', 'bob\u200c'],
    ['a word joiner (U+2060)', 'bob\u2060'],
    ['a BOM / zero-width no-break space (U+FEFF)', '\ufeffbob'],
    ['a soft hyphen (U+00AD)', 'bo\u00adb'],
    ['a combining grapheme joiner (U+034F, invisible mark)', 'bob\u034f'],
    ['a variation selector (U+FE0F, invisible mark)', 'bob\ufe0f'],
    ['a Mongolian variation selector (U+180B)', 'bob\u180b'],
    ['a supplementary variation selector (U+E0100)', 'bob\u{e0100}'],
    ['a Hangul filler alone (U+115F, an invisible letter)', '\u115f'],
    ['a Hangul filler after a name (U+1160)', 'bob\u1160'],
    ['a tag character (U+E0041)', 'bob\u{e0041}'],
    ['an emoji', 'bob😀'],
    ['an emoji alone', '🙂'],
    ['a symbol', 'bob$'],
    ['an at sign', 'bob@host'],
    ['a slash', '../bob'],
    ['full-width letters (not NFKC)', 'ＢＯＢ'],
    ['a ligature (not NFKC)', 'ﬁle'],
    ['a decomposed é (e + U+0301, not NFKC)', 'e\u0301mile'],
    ['mixed Latin and Cyrillic (Cyrillic о)', 'bоb'],
    ['mixed Latin and Greek (Greek ο)', 'bοb'],
    ['mixed Cyrillic and Greek', 'βорис'],
    ['a lone high surrogate', 'bob\ud800'],
    ['a lone low surrogate', '\udc00bob'],
  ])('refuses %s', (_name, name) => {
    const reason = checkUsername(name);
    expect(typeof reason).toBe('string');
    expect(reason).not.toBe('');
  });

  it.each([[42], [null], [undefined], [['alice']], [{ toString: () => 'alice' }]])(
    'refuses the non-string %p',
    (name) => {
      expect(checkUsername(name)).toBe('USERNAME must be a string');
    },
  );

  it('says why: the reason names the rule that was broken', () => {
    expect(checkUsername('')).toMatch(/empty/);
    expect(checkUsername('a'.repeat(33))).toMatch(/longer than 32/);
    expect(checkUsername('#x')).toMatch(/#/);
    expect(checkUsername('all')).toMatch(/ALL/);
    expect(checkUsername('ＢＯＢ')).toMatch(/NFKC/);
    expect(checkUsername('bоb')).toMatch(/mix/);
    expect(checkUsername('bob\ud800')).toMatch(/surrogate/);
  });

  it('counts characters (code points), not UTF-16 units: 32 astral letters pass', () => {
    const astral = '𐐀'.repeat(MAX_USERNAME_CHARS); // U+10400 DESERET CAPITAL LONG I, a letter: 64 UTF-16 units
    expect(astral.length).toBe(64);
    expect(checkUsername(astral)).toBeUndefined();
    expect(checkUsername(astral + '𐐀')).toMatch(/longer/);
  });
});

describe('shared: usernames usernameKey', () => {
  it('gives "Bob", "bob" and full-width "ＢＯＢ" the same key', () => {
    expect(usernameKey('Bob')).toBe('bob');
    expect(usernameKey('bob')).toBe('bob');
    expect(usernameKey('ＢＯＢ')).toBe('bob');
  });

  it('folds the Cyrillic and Greek look-alikes of its table onto Latin', () => {
    expect(usernameKey('ьоь')).toBe('bob'); // Cyrillic soft sign ь and о
    expect(usernameKey('вов')).toBe('bob'); // Cyrillic ве folds to b as well
    expect(usernameKey('ВОВ')).toBe('bob'); // lower-cased first, then folded
    expect(usernameKey('βοβ')).toBe('bob'); // Greek
    expect(usernameKey('bоb')).toBe('bob'); // mixed: refused by checkUsername, but the key is the same
    expect(usernameKey('аlісе')).toBe('allce'); // Cyrillic а, і, с, е (i and l share a key: see aIice)
    expect(usernameKey('аlісе')).toBe(usernameKey('alice'));
    expect(usernameKey('рахеӏ')).toBe('paxel');
    expect(usernameKey('ԁеѕк')).toBe('desk');
    expect(usernameKey('ηυν')).toBe('nuv'); // Greek η -> n, υ -> u, ν -> v
    expect(usernameKey('нет')).toBe('het'); // Cyrillic н is folded to h (it renders like a small-caps H)
  });

  it('leaves letters outside the table alone', () => {
    expect(usernameKey('борис')).toBe('\u0431op\u0438c'); // б and и stay; о, р, с become Latin o, p, c
    expect(usernameKey('ζωή')).toBe('ζwή');
    expect(usernameKey('émile')).toBe('émlle'); // é stays é; i and l share a key (see aIice)
    expect(usernameKey('émile')).not.toBe(usernameKey('emile'));
  });

  it('makes a pure-Cyrillic look-alike an acceptable name with the same key as the Latin one', () => {
    // So a server comparing keys refuses "вов" while "bob" is logged in, and vice versa.
    expect(checkUsername('вов')).toBeUndefined();
    expect(usernameKey('вов')).toBe(usernameKey('Bob'));
  });

  it('keeps "__proto__" and "constructor" as ordinary keys', () => {
    expect(usernameKey('__proto__')).toBe('__proto__');
    expect(usernameKey('Constructor')).toBe('constructor');
    const table = new Map([[usernameKey('__proto__'), 1]]);
    expect(table.get('__proto__')).toBe(1);
  });
});

describe('shared: usernames confusable skeleton', () => {
  it.each(LOOKALIKES_OF_ONLINE_USERS)('gives %s (%j) the key of %s', (_what, name, real) => {
    expect(usernameKey(name)).toBe(usernameKey(real));
  });

  it.each(LOOKALIKES_OF_ONLINE_USERS)(
    'lets %s (%j) past checkUsername: the clash is found by the key',
    (_w, name) => {
      expect(checkUsername(name)).toBeUndefined();
    },
  );

  it('keeps case variants one user, a capital I included', () => {
    for (const name of ['ALICE', 'Alice', 'aLiCe', 'ａｌｉｃｅ'])
      expect(usernameKey(name)).toBe(usernameKey('alice'));
    expect(usernameKey('Ian')).toBe(usernameKey('ian'));
    expect(usernameKey('Ian')).toBe(usernameKey('lan')); // a sans-serif I is an l
  });

  it('keeps different names apart', () => {
    const names = ['alice', 'bob', 'carol', 'emile', 'émile', 'борис', 'боб', 'ζωή', '名前', 'bobby', 'al'];
    expect(new Set(names.map(usernameKey)).size).toBe(names.length);
  });

  it('leaves a non-Latin name its own letters (TR39 prototypes other than Latin letters are not used)', () => {
    expect(usernameKey('борис')).toBe('\u0431op\u0438c'); // б is not read as 6, и not as ᴎ
    expect(usernameKey('名前')).toBe('名前');
    expect(usernameKey('नमस्ते')).toBe('नमस्ते'); // marks on non-Latin letters stay
  });

  it('costs nothing extra for an ASCII name', () => {
    expect(usernameKey('Bob_2')).toBe('bob_2');
    expect(usernameKey('m')).toBe('m'); // Ergo's tweak: "m" is not read as "rn"
  });

  it('still reserves ALL and what reads as ALL, but a dotted i is a name ("Ali")', () => {
    for (const name of ['ALL', 'all', 'AlI', 'aII', 'a11', 'ALI', 'ᴀʟʟ']) {
      expect(checkUsername(name)).toMatch(/reserved/);
    }
    expect(checkUsername('Ali')).toBeUndefined();
    expect(checkUsername('ali')).toBeUndefined();
  });
});

describe('shared: usernames describeNameClash', () => {
  it('says "taken" for the same name modulo case and width', () => {
    expect(describeNameClash('Bob', 'bob')).toBe('the name Bob is taken: pick another');
    expect(describeNameClash('ＢＯＢ', 'bob')).toBe('the name ＢＯＢ is taken: pick another');
    expect(describeNameClash('bob', 'bob')).toBe('the name bob is taken: pick another');
  });

  it('says "too similar to" the holder for a look-alike, naming the holder', () => {
    expect(describeNameClash('b\u0585b', 'bob')).toBe(
      'the name b\u0585b is too similar to bob: pick another',
    );
    expect(describeNameClash('aIice', 'alice')).toMatch(/too similar to alice/);
  });

  it('quotes what it is given inertly', () => {
    expect(describeNameClash('bo\u001bb', 'bob')).toBe(
      'the name bo\\x1bb is too similar to bob: pick another',
    );
  });
});
