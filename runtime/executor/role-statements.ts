// What a restore does with each statement of a dump so that it loads as another role (pg_dump --no-owner style) and
// cannot leave that role: `ALTER ... OWNER TO` dropped (objects belong to the role that loads them), grants to roles
// this server lacks dropped and named, `FOR ROLE` of default privileges and `GRANTED BY` dropped (they name the old
// owner), pg_dump's own `SET/RESET SESSION AUTHORIZATION` around a grant dropped; a statement that would change the
// session's role or settings that keep the lexer in step with psql, or run code at the top level, refuses the dump.

/** Client encodings in which a byte 0x5c or 0x27 can be part of a longer character: the lexer would lose step. */
const UNSAFE_ENCODINGS = new Set([
  'SJIS',
  'SHIFT_JIS',
  'BIG5',
  'GBK',
  'UHC',
  'GB18030',
  'JOHAB',
  'WIN932',
  'WIN936',
  'WIN949',
  'WIN950',
  'MSKANJI',
  'SHIFTJIS2004',
  'SHIFT_JIS_2004',
  'CP932',
  'CP936',
  'CP949',
  'CP950',
]);

const ROLE_NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*)`;
const ROLE_LIST = `${ROLE_NAME}(?:, *${ROLE_NAME})*`;
const OWNER_TO = new RegExp(`^ALTER .* OWNER TO (${ROLE_NAME});\\s*$`);
const SESSION_AUTHORIZATION = new RegExp(
  `^(?:SET SESSION AUTHORIZATION ${ROLE_NAME}|RESET SESSION AUTHORIZATION);\\s*$`,
);
/** GRANT ... TO <roles> [WITH GRANT OPTION] [GRANTED BY <role>]; (pg_dump writes one statement a line). */
const GRANT = new RegExp(
  `^((?:ALTER DEFAULT PRIVILEGES .*?)?GRANT .* TO )(${ROLE_LIST})( WITH GRANT OPTION| WITH ADMIN OPTION)?(?: GRANTED BY ${ROLE_NAME})?;\\s*$`,
);
const REVOKE = new RegExp(
  `^((?:ALTER DEFAULT PRIVILEGES .*?)?REVOKE .* FROM )(${ROLE_LIST})( CASCADE| RESTRICT)?(?: GRANTED BY ${ROLE_NAME})?;\\s*$`,
);
const DEFAULT_PRIVILEGES = new RegExp(`^ALTER DEFAULT PRIVILEGES FOR (?:ROLE|USER) (${ROLE_LIST}) `);
const SEARCH_PATH = /^SELECT pg_catalog\.set_config\('search_path', '[^']*', false\);\s*$/;
const COPY_FROM_STDIN = /^COPY .* FROM STDIN;$/;

export interface RoleFacts {
  /** Whether this server has the role. */
  exists(role: string): boolean;
  /** Whether the loading role may make the role an object's owner (it is that role, a member of it, or superuser). */
  mayOwn(role: string): boolean;
  /** Whether an ownership the loader may not give goes to the role after the load (a temporary owner's hand-over). */
  later?(role: string): boolean;
}

/** An `OWNER TO` statement kept for after a temporary owner's load (load-login.ts), and the role it names. */
export interface LaterOwner {
  text: string;
  role: string;
}

/**
 * `ALTER <kind> <name>[(<arguments>)] OWNER TO <role>;` of an object inside the database (never the database itself)
 * and nothing else: no second clause, no `;` or string inside. Only such a line is handed on after the load.
 */
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*|\d+)`;
const LATER_OWNER = new RegExp(
  String.raw`^ALTER (?:TABLE|SEQUENCE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE|FUNCTION|PROCEDURE|AGGREGATE|TYPE|DOMAIN|SCHEMA|COLLATION|CONVERSION|TEXT SEARCH (?:CONFIGURATION|DICTIONARY)|LARGE OBJECT|STATISTICS) ` +
    String.raw`${IDENT}(?:\.${IDENT})?(?: ?\((?:[^;()"'\\]|"(?:[^"]|"")*")*\))? OWNER TO ${ROLE_NAME};\s*$`,
);

export type Verdict =
  | { action: 'keep'; text?: string; missingRoles?: string[] }
  | { action: 'drop'; missingRoles?: string[]; later?: LaterOwner }
  | { action: 'refuse'; reason: string };

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

function splitRoles(list: string): string[] {
  return [...list.matchAll(new RegExp(ROLE_NAME, 'g'))].map((m) => m[0]);
}

/** A role-changing or top-level code statement (blanked code, see SqlLexer), or null when it may run. */
export function refusal(code: string): string | null {
  const words = code.replace(/;$/, '').split(' ');
  const [first = '', second = '', third = ''] = words;
  if (first === 'SET' || first === 'RESET') {
    const name = second === 'SESSION' || second === 'LOCAL' ? third : second;
    if (second === 'SESSION' && third === 'AUTHORIZATION') return 'it changes the session authorization';
    if (['ROLE', 'ALL', 'SESSION_AUTHORIZATION'].includes(name))
      return `it changes the session's role (${first} ${name})`;
    if (!/^[A-Z_][A-Z0-9_.]*$/.test(name)) return `it sets a setting by an unusual name (${name})`;
  }
  if (first === 'DO' || first === 'CALL') return `it runs code at the top level (${first})`;
  if (/\bSET_CONFIG\b/.test(code)) return "it calls set_config, which can change the session's role";
  if (/\bPG_SETTINGS\b/.test(code)) return "it touches pg_settings, which can change the session's role";
  if (first === 'COPY' && !COPY_FROM_STDIN.test(code)) return 'it is a COPY other than FROM stdin';
  return null;
}

/** Settings the lexer depends on: only standard_conforming_strings on and a client encoding it can read. */
function settingRefusal(code: string, line: string): string | null {
  if (
    /^SET (?:SESSION |LOCAL )?STANDARD_CONFORMING_STRINGS\b/.test(code) &&
    !/^SET standard_conforming_strings (?:=|TO) on;\s*$/i.test(line)
  )
    return 'it turns standard_conforming_strings off';
  const encoding = /^SET (?:SESSION |LOCAL )?(?:CLIENT_ENCODING|NAMES)\b/.test(code)
    ? /^SET (?:client_encoding (?:=|TO) |NAMES )'?([A-Za-z0-9_]+)'?;\s*$/i.exec(line)?.[1]?.toUpperCase()
    : undefined;
  if (encoding === undefined)
    return /^SET (?:SESSION |LOCAL )?(?:CLIENT_ENCODING|NAMES)\b/.test(code)
      ? 'it sets the client encoding in a form pg_dump does not write'
      : null;
  return UNSAFE_ENCODINGS.has(encoding.replace(/-/g, '_'))
    ? `it sets the client encoding ${encoding}, which a restore does not read`
    : null;
}

/**
 * The verdict on one statement: `code` its blanked code, `line` its raw text when it is the whole of one line (the
 * only form rewritten or dropped), `roles` what this server has and the loader may do.
 */
export function judgeStatement(code: string, line: string | null, roles: RoleFacts): Verdict {
  if (line !== null && SEARCH_PATH.test(line)) return { action: 'keep' };
  if (line !== null && SESSION_AUTHORIZATION.test(line)) return { action: 'drop' };
  const refused = refusal(code) ?? (line === null ? null : settingRefusal(code, line));
  if (refused) return { action: 'refuse', reason: refused };
  if (line === null) return { action: 'keep' };
  // Ownership stays where the loading role may give it (the same server, a superuser); otherwise the loader owns it.
  const owner = OWNER_TO.exec(line)?.[1];
  if (owner !== undefined) {
    const role = unquote(owner);
    if (roles.mayOwn(role)) return { action: 'keep' };
    return LATER_OWNER.test(line) && roles.later?.(role)
      ? { action: 'drop', later: { text: line.trim(), role } }
      : { action: 'drop' };
  }
  const forRoles = DEFAULT_PRIVILEGES.exec(line)?.[1];
  const mapped =
    forRoles === undefined || splitRoles(forRoles).every((r) => roles.mayOwn(unquote(r)))
      ? line
      : line.replace(DEFAULT_PRIVILEGES, 'ALTER DEFAULT PRIVILEGES ');
  const grant = GRANT.exec(mapped) ?? REVOKE.exec(mapped);
  if (grant) {
    const [, head = '', list = '', option = ''] = grant;
    const grantees = splitRoles(list);
    const missing = grantees.filter((r) => r.toUpperCase() !== 'PUBLIC' && !roles.exists(unquote(r)));
    const kept = grantees.filter((r) => !missing.includes(r));
    const missingRoles = missing.map(unquote);
    if (kept.length === 0) return { action: 'drop', missingRoles };
    return { action: 'keep', text: `${head}${kept.join(', ')}${option};`, missingRoles };
  }
  if (mapped !== line) return { action: 'keep', text: mapped.trimEnd() };
  return { action: 'keep' };
}
