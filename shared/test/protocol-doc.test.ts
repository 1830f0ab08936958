import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CLIENT_KEY_NAMES, ERROR_CODES, SERVER_KEY_NAMES, decodePayload, type ErrorCode } from '#shared';
import * as limits from '#shared/limits';

// fastify's habit: the docs are the spec, and a test fails when they fall behind the code.
const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

/** The bodies of the fenced blocks of one language. */
function fencedBlocks(language: string): string[] {
  return [...doc.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map(
    (match) => match[1],
  );
}

/** Rows of the Markdown table whose first cell is a backticked name: name -> the other cells. */
function tableRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const match = /^\|\s*`([A-Z0-9_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (match)
      rows.set(
        match[1],
        match[2].split('|').map((cell) => cell.trim()),
      );
  }
  return rows;
}

/** The table rows under one `## heading`. */
function sectionRows(heading: string): Map<string, string[]> {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  const all = tableRows();
  return new Map([...all].filter(([name]) => section.includes(`| \`${name}\` |`)));
}

describe('shared: docs/PROTOCOL.md', () => {
  it.each(Object.keys(ERROR_CODES))('lists the error code %s in backticks', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });

  it('gives each error code a row in the Error codes table with the right fatal flag and text', () => {
    const rows = sectionRows('Error codes');
    for (const [code, { fatal, text }] of Object.entries(ERROR_CODES)) {
      const row = rows.get(code);
      expect({ code, row: row?.slice(0, 2) }).toEqual({ code, row: [fatal ? 'yes' : 'no', text] });
    }
  });

  it('lists no error code that does not exist', () => {
    const mentioned = new Set([...doc.matchAll(/`(ERR_[A-Z0-9_]+)`/g)].map((match) => match[1]));
    const unknown = [...mentioned].filter((code) => !Object.hasOwn(ERROR_CODES, code as ErrorCode));
    expect(unknown).toEqual([]);
  });

  it.each([...new Set([...CLIENT_KEY_NAMES, ...SERVER_KEY_NAMES])])(
    'documents the key %s in backticks, with a heading',
    (key) => {
      expect(doc).toContain(`\`${key}\``);
      expect(doc).toMatch(new RegExp(`^###.*\`${key}\``, 'm'));
    },
  );

  it('has JSON examples, and each one parses as a JSON object', () => {
    const blocks = fencedBlocks('json');
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    for (const block of blocks) {
      let value: unknown;
      expect(() => (value = JSON.parse(block))).not.toThrow();
      expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    }
  });

  it('has hex frame examples whose length prefix matches their payload, and each payload decodes', () => {
    const frames = fencedBlocks('text')
      .map((block) => block.split('\n')[0])
      .filter((line) => /^[0-9a-f]{2}(\s*[0-9a-f]{2})+\s*$/.test(line))
      .map((line) => Buffer.from(line.replace(/\s+/g, ''), 'hex'));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) {
      expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
      expect(() => decodePayload(frame.subarray(4))).not.toThrow();
    }
  });

  it('states every limit of limits.ts with its default value in the Limits table', () => {
    const rows = sectionRows('Limits');
    for (const [name, value] of Object.entries(limits)) {
      if (typeof value !== 'number') {
        expect(doc).toContain(`\`${name}\``);
        continue;
      }
      const row = rows.get(name);
      expect({ name, value: row?.[0].split(' ')[0] }).toEqual({ name, value: String(value) });
    }
  });
});
