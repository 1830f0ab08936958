/**
 * Untrusted text -> text that is safe to write to a terminal (../RELIABILITY.md principle 7). Text
 * from the network must never move the cursor, clear the screen, change colours, set the window
 * title, write the clipboard (OSC 52) or reorder what the reader sees (bidi overrides).
 */

export interface SanitizeOptions {
  /**
   * Keep line breaks as "\n". Off by default: on one line, a newline inside a message could forge a
   * whole line that looks like it came from someone else ("\n12:00 [admin] ..."), so line breaks
   * become a visible ↵ instead. A caller that allows several lines must indent the continuation
   * lines itself so they cannot pass for new messages.
   */
  multiline?: boolean;
}

/** What a line break becomes in single-line mode: visible, and not a line break. */
export const NEWLINE_MARK = '↵';
/** What a tab becomes: a tab jumps to the terminal's tab stops, which a sender could use to align fakes. */
export const TAB_AS = '    ';

// Whole escape sequences go, not just their ESC, so a pasted coloured text reads clean. A string
// sequence (OSC, DCS, SOS, PM, APC) is removed only when it is terminated (BEL or ST); an unterminated
// one loses its introducer below and the rest stays visible rather than silently vanishing.
const ESCAPE_SEQUENCES = new RegExp(
  [
    /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]/.source, // CSI: cursor moves, erase, colours (SGR)
    /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)/.source, // OSC title, OSC 52 clipboard, DCS...
    /\x1b[ -/]*[0-~]/.source, // two-byte and nF escapes (ESC c resets the terminal)
  ].join('|'),
  'g',
);
const LINE_BREAKS = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
// C0 (tab and newline are handled before), DEL, C1, and the bidi controls: LRM, RLM, ALM,
// LRE/RLE/PDF/LRO/RLO (U+202A-202E) and LRI/RLI/FSI/PDI (U+2066-2069).
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Strips escape sequences, C0/C1 and bidi controls; tabs become spaces, line breaks ↵ (or "\n"). */
export function sanitizeForTerminal(text: string, options: SanitizeOptions = {}): string {
  return text
    .replace(ESCAPE_SEQUENCES, '')
    .replace(LINE_BREAKS, options.multiline ? '\n' : NEWLINE_MARK)
    .replaceAll('\t', TAB_AS)
    .replace(CONTROLS, (char) => (char === '\n' && options.multiline ? char : ''));
}
