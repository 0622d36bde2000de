// The documents against themselves and against the code: links and anchors resolve, every page is within two
// clicks of the README, repository paths exist, every config key of the schema and every client command and option
// is documented where a user looks for it (and nothing documented there is gone from the code).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../client/program';
import { offsiteShape } from '../../runtime/config/offsite-schema';
import { BACKUP_TASK, TABLE_KEYS, TASK_KEYS, rootSchema } from '../../runtime/config/schema';
import { plainText, readMarkdown, sectionOf, tableRows, type MarkdownDocument } from '../support/markdown';
import { argumentUsage, checkExample, listCommands } from '../support/program-tree';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = join(ROOT, 'docs');
const README = join(ROOT, 'README.md');
const pages = [
  README,
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(DOCS, f)),
];
const docs = new Map<string, MarkdownDocument>(pages.map((p) => [p, readMarkdown(p)]));
const doc = (path: string) => docs.get(path) ?? readMarkdown(path);
const where = (d: MarkdownDocument, line: number) => `${relative(ROOT, d.path)}:${line}`;

/** The Markdown files a page links to, resolved. */
function linkedPages(d: MarkdownDocument): string[] {
  return d.links
    .map((l) => l.text.split('#')[0]!)
    .filter((target) => target.endsWith('.md') && !/^[a-z]+:/.test(target))
    .map((target) => resolve(dirname(d.path), target));
}

describe('links and anchors', () => {
  it('every relative link names a file that exists, and every #anchor a heading of that page', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const d of docs.values()) {
      for (const link of d.links) {
        if (/^[a-z]+:/.test(link.text)) continue; // https:, mailto:
        const [file, anchor] = link.text.split('#') as [string, string | undefined];
        const target = file === '' ? d.path : resolve(dirname(d.path), decodeURI(file));
        checked += 1;
        if (!existsSync(target)) {
          broken.push(`${where(d, link.line)}: ${link.text} (no such file)`);
        } else if (anchor !== undefined && target.endsWith('.md')) {
          if (!doc(target).headings.some((h) => h.slug === anchor))
            broken.push(`${where(d, link.line)}: ${link.text} (no heading with this anchor)`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(broken).toEqual([]);
  });

  it('reaches every page under docs/ within two clicks of the README', () => {
    const reached = new Set([README]);
    let frontier = [README];
    for (let click = 1; click <= 2; click += 1) {
      frontier = frontier.flatMap((p) => linkedPages(doc(p))).filter((p) => !reached.has(p) && existsSync(p));
      for (const p of frontier) reached.add(p);
    }
    const unreached = pages.filter((p) => !reached.has(p)).map((p) => relative(ROOT, p));
    expect(pages.length).toBeGreaterThan(10);
    expect(unreached).toEqual([]);
  });

  it("links the restore and disaster-recovery pages from the README's first screen", () => {
    const firstScreen = doc(README)
      .links.filter((l) => l.line <= 25)
      .map((l) => l.text);
    expect(firstScreen).toContain('docs/restoring.md');
    expect(firstScreen.some((t) => t.startsWith('docs/offsite.md#disaster-recovery'))).toBe(true);
  });
});

/** The patterns of the repository's .gitignore as tests on a relative path: what git ignores is not the repository's. */
function ignoredByGit(): (path: string) => boolean {
  const patterns = readFileSync(join(ROOT, '.gitignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const trimmed = line.replace(/\/$/, '');
      const body = trimmed
        .replace(/^\//, '')
        .replace(/[.+^$()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*');
      // "name" matches at any depth, "a/b" and "/name" from the root; a directory pattern covers what is below it.
      return new RegExp(`^${trimmed.includes('/') ? '' : '(.*/)?'}${body}(/.*)?$`);
    });
  return (path) => patterns.some((p) => p.test(path));
}

describe('repository paths', () => {
  const ignored = ignoredByGit();
  const roots = readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== '.git' && !ignored(e.name))
    .map((e) => e.name);

  it('every path in backticks that starts at a top-level directory exists', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const d of docs.values()) {
      for (const span of d.codeSpans) {
        for (const raw of span.text.split(/\s+/)) {
          const word = raw.replace(/^[(["']+|[)\]"',;:.]+$/g, '');
          if (!roots.some((r) => word.startsWith(`${r}/`)) || /[<>*{}$]|\.\.\./.test(word)) continue;
          if (ignored(word)) continue; // made by a run (bench/results/*.json), not part of the repository
          checked += 1;
          if (!existsSync(join(ROOT, word))) missing.push(`${where(d, span.line)}: ${word}`);
        }
      }
    }
    expect(roots).toEqual(expect.arrayContaining(['handlers', 'runtime', 'client', 'infra', 'tests']));
    expect(checked).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  const config = doc(join(DOCS, 'configuration.md'));

  /** The table a heading documents: `[name]`, `[[tasks]]`, the database_backup task, or the top level. */
  function tableOf(heading: string | undefined): string | undefined {
    const text = heading ?? '';
    if (text.includes('`[[tasks]]`')) return 'tasks';
    if (text.includes('`[[notify]]`')) return 'notify';
    if (text.includes(`\`${BACKUP_TASK}\``)) return BACKUP_TASK;
    const table = /`\[([a-z_]+)\]`/.exec(text)?.[1];
    if (table !== undefined) return table;
    return /top-level/i.test(text) ? '' : undefined;
  }

  function baseOf(schema: unknown): { type: string; element?: unknown } {
    let def = (schema as { def: { type: string; innerType?: unknown; element?: unknown } }).def;
    while (def.innerType !== undefined) def = (def.innerType as { def: typeof def }).def;
    return def;
  }

  /** Every key the schema accepts, as "<table>.<key>" ("" for the top level). */
  function schemaKeys(): string[] {
    const tableNames = Object.keys(rootSchema.shape).filter((key) => {
      const base = baseOf(rootSchema.shape[key as keyof typeof rootSchema.shape]);
      return base.type === 'object' || (base.type === 'array' && baseOf(base.element).type === 'record');
    });
    const taskKeys = new Set(TASK_KEYS.generic);
    const backupKeys = [...TASK_KEYS[BACKUP_TASK], ...Object.keys(offsiteShape)].filter(
      (k) => !taskKeys.has(k),
    );
    return [
      ...(TABLE_KEYS[''] ?? []).filter((k) => !tableNames.includes(k)).map((k) => `.${k}`),
      ...Object.entries(TABLE_KEYS)
        .filter(([table]) => table !== '')
        .flatMap(([table, keys]) => keys.map((k) => `${table}.${k}`)),
      ...TASK_KEYS.generic.map((k) => `tasks.${k}`),
      ...[...new Set(backupKeys)].map((k) => `${BACKUP_TASK}.${k}`),
    ].sort();
  }

  const rows = tableRows(config, 'Key');

  it('documents every key of the schema, and no key the schema does not have', () => {
    const documented: string[] = [];
    for (const row of rows) {
      const key = /^`([a-z0-9_]+)`$/.exec(row.cells[0] ?? '')?.[1];
      const table = tableOf(row.heading?.text);
      expect(key, `${where(config, row.line)}: the first cell names one key in backticks`).toBeDefined();
      expect(table, `${where(config, row.line)}: the heading names the table`).toBeDefined();
      documented.push(`${table}.${key}`);
    }
    const expected = schemaKeys();
    expect(expected.length).toBeGreaterThan(40);
    expect(documented.sort()).toEqual(expected);
  });

  it('gives every key a type, a default and whether it reloads without a restart', () => {
    for (const row of rows) {
      expect(row.cells, where(config, row.line)).toHaveLength(5);
      const [, type, fallback, reload, meaning] = row.cells;
      expect(type, where(config, row.line)).not.toBe('');
      expect(fallback, where(config, row.line)).not.toBe('');
      expect(['yes', 'restart'], where(config, row.line)).toContain(reload);
      expect(meaning, where(config, row.line)).not.toBe('');
    }
  });
});

describe('docs/client.md', () => {
  const client = doc(join(DOCS, 'client.md'));
  const program = buildProgram();
  const commands = listCommands(program);
  const headingFor = (path: string) => client.headings.find((h) => plainText(h.text) === path);

  it('has a section for every command, naming its arguments, options and aliases', () => {
    const problems: string[] = [];
    for (const { path, command } of commands.filter((c) => c.leaf)) {
      const heading = headingFor(path);
      if (heading === undefined) {
        problems.push(`no heading "${path}"`);
        continue;
      }
      const section = sectionOf(client, heading);
      const names = [
        ...argumentUsage(command),
        ...command.registeredArguments.flatMap((a) => a.argChoices ?? []),
        ...command.options.flatMap((o) => [o.long, o.short]),
        ...command.aliases(),
      ].filter((n): n is string => n !== undefined);
      for (const name of names) if (!section.includes(name)) problems.push(`"${path}" does not name ${name}`);
    }
    expect(commands.filter((c) => c.leaf).length).toBeGreaterThan(15);
    expect(problems).toEqual([]);
  });

  it('lists every global option with its short form and its choices', () => {
    const heading = client.headings.find((h) => h.text === 'Global options');
    expect(heading).toBeDefined();
    const section = sectionOf(client, heading!);
    const names = program.options.flatMap((o) => [o.long, o.short, ...(o.argChoices ?? [])]);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) if (name !== undefined) expect(section, name).toContain(name);
  });

  it('documents no command that the client does not have', () => {
    const known = new Set(commands.map((c) => c.path));
    const commandHeadings = client.headings.filter((h) => h.level === 3 && /^`[^`]+`$/.test(h.text));
    expect(commandHeadings.length).toBeGreaterThan(15);
    for (const h of commandHeadings) expect(known, h.text).toContain(plainText(h.text));
  });

  it('uses only real commands and options in every example of the README and docs/', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const d of docs.values()) {
      for (const line of d.fenced) {
        const example = /^\s*(?:\$\s+)?(bomnipotent_client\s.*)$/.exec(line.text)?.[1];
        if (example === undefined) continue;
        checked += 1;
        for (const problem of checkExample(program, example))
          problems.push(`${where(d, line.line)}: ${problem}`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });
});
