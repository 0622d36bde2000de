// Where the SQL statements of a plain dump begin and end, as psql splits them: quotes, dollar quotes, comments and the
// `;` that ends a statement outside them. Each statement comes out as its code with every literal blanked (a string
// is '?', a dollar-quoted body $?$, a quoted identifier "?"), upper-cased, white space collapsed: what the role filter
// judges. It assumes standard_conforming_strings on and a client encoding in which a byte 0x27 (') or 0x5c (\) is
// never part of a longer character; the role filter refuses a dump that sets anything else.

type Mode = 'code' | 'squote' | 'equote' | 'dquote' | 'dollar' | 'block';

const IDENT_CHAR = /[A-Za-z0-9_$\x80-\xff]/;
const WHITE_SPACE = new Set([' ', '\t', '\r', '\n', '\f', '\v', '\u00a0']); // as String.prototype.trim() in Latin-1
const DOLLAR_TAG = /^\$([A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*)?\$/;

export class SqlLexer {
  private mode: Mode = 'code';
  private tag = '';
  private depth = 0;
  /**
   * The code of the statement being read (literals blanked): empty until its first character that is not white
   * space, so that `open` is one comparison (a dump's runs of blank and comment lines add nothing to it).
   */
  private code = '';

  /** Whether a statement has begun and not ended, or a literal or comment is still open. */
  get open(): boolean {
    return this.mode !== 'code' || this.code !== '';
  }

  /**
   * Reads one line (without its newline); returns the statements that ended in it, each as its blanked code, and
   * whether anything but white space or a comment follows the last of them on the line.
   */
  line(text: string): { ended: string[]; rest: boolean } {
    const ended: string[] = [];
    let i = 0;
    while (i < text.length) {
      i = this.step(text, i, ended);
    }
    if (this.mode === 'code' && this.code !== '') this.code += ' ';
    return { ended, rest: this.open };
  }

  private step(text: string, i: number, ended: string[]): number {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';
    switch (this.mode) {
      case 'squote':
      case 'equote':
        if (this.mode === 'equote' && c === '\\') return i + 2;
        if (c === "'" && next === "'") return i + 2;
        if (c === "'") this.mode = 'code';
        return i + 1;
      case 'dquote':
        if (c === '"' && next === '"') return i + 2;
        if (c === '"') this.mode = 'code';
        return i + 1;
      case 'dollar':
        if (text.startsWith(this.tag, i)) {
          this.mode = 'code';
          return i + this.tag.length;
        }
        return i + 1;
      case 'block':
        if (c === '/' && next === '*') this.depth += 1;
        else if (c === '*' && next === '/') this.depth -= 1;
        else return i + 1;
        if (this.depth === 0) this.mode = 'code';
        return i + 2;
      default:
        return this.codeStep(text, i, ended);
    }
  }

  private codeStep(text: string, i: number, ended: string[]): number {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';
    const previous = text[i - 1] ?? ' ';
    if (c === '-' && next === '-') return text.length; // a comment to the end of the line
    if (c === '/' && next === '*') {
      this.mode = 'block';
      this.depth = 1;
      if (this.code !== '') this.code += ' ';
      return i + 2;
    }
    if (c === "'") {
      // E'...' (and e'...') takes backslash escapes; the E must begin a token.
      const escaped = /[Ee]/.test(previous) && !IDENT_CHAR.test(text[i - 2] ?? ' ');
      this.mode = escaped ? 'equote' : 'squote';
      this.code += "'?'";
      return i + 1;
    }
    if (c === '"') {
      this.mode = 'dquote';
      this.code += '"?"';
      return i + 1;
    }
    if (c === '$' && !IDENT_CHAR.test(previous)) {
      const tag = DOLLAR_TAG.exec(text.slice(i, i + 130));
      if (tag) {
        this.mode = 'dollar';
        this.tag = tag[0];
        this.code += '$?$';
        return i + tag[0].length;
      }
    }
    if (c === ';') {
      ended.push(`${this.code.replace(/\s+/g, ' ').trim().toUpperCase()};`);
      this.code = '';
      return i + 1;
    }
    if (this.code !== '' || !WHITE_SPACE.has(c)) this.code += c;
    return i + 1;
  }
}
