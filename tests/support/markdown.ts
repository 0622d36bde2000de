// A small reader of the repository's Markdown for the documentation test: headings with GitHub's anchors, links,
// inline code, tables and fenced blocks, each with the heading it sits under. Enough for our documents, not CommonMark.
import { readFileSync } from 'node:fs';

export interface Heading {
  level: number;
  text: string; // as written, inline code marks included
  slug: string;
  line: number;
}

export interface Located {
  text: string;
  line: number;
  heading: Heading | undefined;
}

export interface MarkdownDocument {
  path: string;
  headings: Heading[];
  /** Lines outside fenced blocks, each with the heading above it. */
  lines: Located[];
  /** Lines inside fenced blocks. */
  fenced: Located[];
  links: Located[]; // text = the link target
  codeSpans: Located[]; // text = the span's content
}

/** GitHub's anchor of a heading (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function slugOf(text: string): string {
  return plainText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The heading's text as rendered: links reduced to their text, code marks dropped. */
export function plainText(text: string): string {
  return text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const CODE_SPAN = /`([^`\n]+)`/g;
const LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

export function readMarkdown(path: string): MarkdownDocument {
  const doc: MarkdownDocument = { path, headings: [], lines: [], fenced: [], links: [], codeSpans: [] };
  const seen = new Map<string, number>();
  let fence: string | undefined;
  let heading: Heading | undefined;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const line = index + 1;
      const marker = FENCE.exec(text)?.[1];
      if (fence !== undefined) {
        if (marker === fence) fence = undefined;
        else doc.fenced.push({ text, line, heading });
        return;
      }
      if (marker !== undefined) {
        fence = marker;
        return;
      }
      const h = HEADING.exec(text);
      if (h) {
        const base = slugOf(h[2]!);
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        heading = { level: h[1]!.length, text: h[2]!, slug: count === 0 ? base : `${base}-${count}`, line };
        doc.headings.push(heading);
      }
      doc.lines.push({ text, line, heading });
      for (const m of text.matchAll(CODE_SPAN)) doc.codeSpans.push({ text: m[1]!, line, heading });
      for (const m of text.replace(CODE_SPAN, '').matchAll(LINK))
        doc.links.push({ text: m[1]!, line, heading });
    });
  return doc;
}

/** The lines from a heading up to the next heading of the same or a higher level. */
export function sectionOf(doc: MarkdownDocument, heading: Heading): string {
  const next = doc.headings.find((h) => h.line > heading.line && h.level <= heading.level);
  return doc.lines
    .concat(doc.fenced)
    .filter((l) => l.line >= heading.line && (next === undefined || l.line < next.line))
    .map((l) => l.text)
    .join('\n');
}

export interface TableRow {
  cells: string[];
  line: number;
  heading: Heading | undefined;
}

/** The body rows of every table whose first header cell is `firstHeader`. */
export function tableRows(doc: MarkdownDocument, firstHeader: string): TableRow[] {
  const rows: TableRow[] = [];
  let table: 'none' | 'kept' | 'skipped' = 'none';
  for (const l of doc.lines) {
    if (!l.text.startsWith('|')) {
      table = 'none';
      continue;
    }
    const cells = splitRow(l.text);
    if (table === 'none')
      table = cells[0] === firstHeader ? 'kept' : 'skipped'; // the header row
    else if (table === 'kept' && !/^[-: |]+$/.test(l.text))
      rows.push({ cells, line: l.line, heading: l.heading });
  }
  return rows;
}

function splitRow(text: string): string[] {
  // "|" inside inline code is written \| in our tables.
  return text
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}
