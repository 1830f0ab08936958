/**
 * The look-alikes of a hostile-input run that logged in next to alice and bob (issue 13, item 1),
 * with the name each imitates: shared by the unit tests of usernameKey and the socket tests.
 */
export const LOOKALIKES_OF_ONLINE_USERS: [what: string, name: string, real: string][] = [
  ['Armenian օ (U+0585)', 'b\u0585b', 'bob'],
  ['NKo digit zero (U+07C0)', 'b\u07c0b', 'bob'],
  ['Kannada digit zero (U+0CE6)', 'b\u0ce6b', 'bob'],
  ['Latin ƅ (U+0185)', '\u0185ob', 'bob'],
  ['Cherokee Ꮟ (U+13CF)', '\u13cfob', 'bob'],
  ['a dental click ǀ (U+01C0)', 'a\u01c0ice', 'alice'],
  ['Latin alpha ɑ (U+0251)', '\u0251lice', 'alice'],
  ['a small capital ᴏ', 'bᴏb', 'bob'],
  ['small capitals ʙᴏʙ', 'ʙᴏʙ', 'bob'],
  ['small capitals ᴀʟɪᴄᴇ', 'ᴀʟɪᴄᴇ', 'alice'],
  ['a capital I for l', 'aIice', 'alice'],
  ['a dotless ı (U+0131)', 'al\u0131ce', 'alice'],
  ['a combining short stroke overlay (U+0335)', 'alice\u0335', 'alice'],
  ['a combining low line (U+0332)', 'alice\u0332', 'alice'],
  ['a digit zero for o', 'b0b', 'bob'],
  ['a digit one for l', 'a1ice', 'alice'],
];
