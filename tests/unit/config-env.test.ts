// .env parsing and ${NAME} substitution.
import { describe, it, expect } from 'vitest';
import { mergeEnv, parseDotenv, substituteEnv } from '../../runtime/config/env';
import { ConfigError } from '../../runtime/config/errors';

describe('parseDotenv', () => {
  it('reads KEY=VALUE lines with comments, quotes and export', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value # trailing comment',
      'export EXPORTED=yes',
      'DOUBLE="with \\"quotes\\" and # hash"',
      "SINGLE='raw \\n stays'",
      'EMPTY=',
      'SPACED = around ',
      'URL=postgres://u:p@h/db#frag',
    ].join('\n');
    expect(parseDotenv(text, '/x/.env')).toEqual({
      PLAIN: 'value',
      EXPORTED: 'yes',
      DOUBLE: 'with "quotes" and # hash',
      SINGLE: 'raw \\n stays',
      EMPTY: '',
      SPACED: 'around',
      URL: 'postgres://u:p@h/db#frag',
    });
  });

  it('names the file and line of a malformed line', () => {
    expect(() => parseDotenv('A=1\nnot a pair\n', '/x/.env')).toThrow(/line 2 in "\/x\/\.env"/);
    expect(() => parseDotenv('A="open', '/x/.env')).toThrow(ConfigError);
  });
});

describe('mergeEnv', () => {
  it('lets the real environment win over .env', () => {
    expect(mergeEnv({ A: 'file', B: 'file' }, { A: 'real', C: undefined })).toEqual({ A: 'real', B: 'file' });
  });
});

describe('substituteEnv', () => {
  it('replaces ${NAME} anywhere but on comment lines, and $${NAME} stays literal', () => {
    const text = 'a = "${X}-${Y}"\n# b = "${UNSET}"\nc = "$${X}"';
    expect(substituteEnv(text, { X: '1', Y: '2' }, '/x/config.toml')).toBe(
      'a = "1-2"\n# b = "${UNSET}"\nc = "${X}"',
    );
  });

  it('names the unset variable, the file and the line', () => {
    expect(() => substituteEnv('a = 1\nb = "${MISSING_VAR}"', {}, '/x/config.toml')).toThrow(
      /MISSING_VAR is not set.*"\/x\/config\.toml".*line 2/,
    );
  });

  it('refuses a malformed reference', () => {
    expect(() => substituteEnv('a = "${not-a-name}"', {}, '/x/config.toml')).toThrow(
      /Invalid variable reference/,
    );
  });
});
