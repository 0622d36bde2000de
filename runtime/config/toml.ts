// TOML text to a plain table; a syntax error becomes a ConfigError with the file, line and column.
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './errors';

export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // smol-toml appends a code block of the surrounding lines; it is left out because it may hold substituted secrets.
    const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/i, '');
    throw new ConfigError(
      `Invalid TOML in "${file}" at line ${error.line}, column ${error.column}: ${reason}.`,
      { cause: error },
    );
  }
}
