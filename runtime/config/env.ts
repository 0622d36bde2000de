// The environment a config file sees: its sibling .env file under the real environment, and ${NAME} substitution.
import { dirname, join } from 'node:path';
import { ConfigError } from './errors';

export type Env = Record<string, string | undefined>;

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

export function dotenvPath(configPath: string): string {
  return join(dirname(configPath), '.env');
}

/** KEY=VALUE lines; blank lines and # comments skipped; values optionally in '…' or "…" (the latter with \n, \" and \\). */
export function parseDotenv(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    if (/^\s*(#|$)/.test(raw)) return;
    const match = LINE.exec(raw);
    if (!match) {
      throw new ConfigError(
        `Invalid line ${index + 1} in "${file}": expected KEY=VALUE (a name of letters, digits and _, then =).`,
      );
    }
    out[match[1]!] = unquote(match[2]!, file, index + 1);
  });
  return out;
}

function unquote(value: string, file: string, line: number): string {
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const close = quote === '"' ? findClosingDoubleQuote(value) : value.indexOf(quote, 1);
    if (close < 0) throw new ConfigError(`Unclosed ${quote} quote on line ${line} of "${file}".`);
    const inner = value.slice(1, close);
    return quote === "'" ? inner : inner.replace(/\\([n"\\])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
  }
  // Unquoted: a # after whitespace starts a comment.
  return value.replace(/\s+#.*$/, '');
}

function findClosingDoubleQuote(value: string): number {
  for (let i = 1; i < value.length; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === '"') return i;
  }
  return -1;
}

/** The real environment wins over .env: a deployment can override a file shipped next to the config. */
export function mergeEnv(dotenv: Record<string, string>, env: Env): Env {
  const merged: Env = { ...dotenv };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return merged;
}

const REFERENCE = /\$(\$?)\{([^}\n]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces ${NAME} everywhere except on full-line comments (so that a commented-out example needs no variable).
 * $${NAME} stands for a literal ${NAME}. Values are inserted verbatim, without TOML escaping.
 */
export function substituteEnv(text: string, env: Env, file: string): string {
  return text
    .split('\n')
    .map((line, index) => {
      if (/^\s*#/.test(line)) return line;
      return line.replace(REFERENCE, (whole, escape: string, name: string) => {
        if (escape) return whole.slice(1);
        if (!NAME.test(name)) {
          throw new ConfigError(
            `Invalid variable reference "\${${name}}" in "${file}" at line ${index + 1}: a name has letters, digits and _ only.`,
          );
        }
        const value = env[name];
        if (value === undefined) {
          throw new ConfigError(
            `Environment variable ${name} is not set, but "${file}" uses \${${name}} at line ${index + 1}. ` +
              `Set it in the environment or in "${dotenvPath(file)}".`,
          );
        }
        return value;
      });
    })
    .join('\n');
}
