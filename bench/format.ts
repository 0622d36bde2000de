// How the benchmark's tables print times, sizes, ratios and verdicts, and align their columns.
export const MB = 1024 * 1024;
export const sec = (ms: number) =>
  Number.isFinite(ms)
    ? ms >= 10_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${(ms / 1000).toFixed(2)} s`
    : 'n/a';
export const msText = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)} ms` : 'n/a');
export const mb = (bytes: number | null) =>
  bytes === null || !Number.isFinite(bytes)
    ? 'n/a'
    : `${(bytes / MB).toFixed(Math.abs(bytes) < 10 * MB ? 1 : 0)} MB`;
export const times = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');
export const mark = (pass: boolean) => (pass ? 'PASS' : 'MISS');

export function aligned(rows: string[][]): string {
  const header = rows[0]!;
  const widths = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r, i) =>
      i === 1
        ? `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`
        : `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`,
    )
    .join('\n');
}
