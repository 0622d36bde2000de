// The status page (GET /status with status_page = true): the status at a glance as one HTML page for the admin's
// browser. Server-rendered, no script, no external asset, no form: every value is escaped text, and the Content
// Security Policy allows nothing but the page's own style block (by its hash).
import { createHash } from 'node:crypto';
import type { BackupStatus, StatusProblem } from '../../handlers/backup/status';
import { formatBytes, formatDuration } from '../../handlers/units';

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .4rem}
.overall{display:inline-block;padding:.15rem .6rem;border-radius:.3rem;font-weight:600;color:#fff}
.ok{background:#1a7f37}.info{background:#0969da}.warning{background:#9a6700}.critical{background:#cf222e}.no-task{background:#57606a}
table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.45rem .6rem;border-bottom:1px solid #d0d7de}
th{width:12rem;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}
li{margin:.4rem 0}.kind{font-family:ui-monospace,monospace}footer{margin-top:2rem;font-size:.85rem;color:#57606a}
`;

/** The Content Security Policy of the page: its one style block, nothing else (no script, image, frame or form). */
export const STATUS_PAGE_CSP =
  `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Reloads itself every minute (a meta refresh: no script needed). */
const REFRESH_SECONDS = 60;

export function renderStatusPage(status: BackupStatus): string {
  const now = Date.parse(status.at);
  const title = `Backups of ${status.database}${status.server ? ` on ${status.server}` : ''}`;
  const rows: [string, string][] = [
    ['Last good backup', lastGood(status, now)],
    ['Last rehearsal', lastRehearsal(status, now)],
    ...(status.lastPitrRehearsal
      ? [['Last PITR rehearsal', lastPitrRehearsal(status.lastPitrRehearsal, now)] as [string, string]]
      : []),
    ['Off-site copies', offsite(status, now)],
    ['Next scheduled run', nextRun(status, now)],
    ['Last run', lastRun(status, now)],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}"><meta name="robots" content="noindex">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
<h1>${esc(title)}</h1>
<p><span class="overall ${status.overall.replace(' ', '-')}" id="overall">${esc(overallText(status))}</span></p>
<table><tbody>
${rows.map(([name, value]) => `<tr><th scope="row">${esc(name)}</th><td>${value}</td></tr>`).join('\n')}
</tbody></table>
<h2>Open problems</h2>
${problems(status.problems, now)}
</main>
<footer>Read-only: this page changes nothing. As of ${esc(status.at)}; it reloads every minute.
The same as JSON: <code>GET /database-backup/status</code> (signed, admin) or <code>bomnipotent_client database-backup overview</code>.</footer>
</body></html>
`;
}

function overallText(status: BackupStatus): string {
  if (status.overall === 'no task') return 'No database_backup task is configured';
  if (status.overall === 'ok') return 'OK: no open problem';
  const n = status.problems.length;
  return `${status.overall === 'critical' ? 'Critical' : status.overall === 'warning' ? 'Warning' : 'Note'}: ${n} open problem${n === 1 ? '' : 's'}`;
}

function lastGood(status: BackupStatus, now: number): string {
  const good = status.lastGoodBackup;
  if (!status.task) return muted('no task');
  if (!good) return bad('none');
  const text = `${esc(good.file)}, ${when(good.takenAt, now)}, ${esc(formatBytes(good.sizeBytes))}`;
  return good.stale ? `${text} ${bad('(stale: older than twice the period)')}` : text;
}

function lastRehearsal(status: BackupStatus, now: number): string {
  const r = status.lastRehearsal;
  const off = status.task && !status.task.rehearse ? ' (rehearse is off)' : '';
  if (!r) return muted(`none${off}`);
  const outcome = r.passed ? 'passed' : bad(`failed: ${r.error ?? 'no reason recorded'}`);
  return `${esc(r.file)}, ${when(r.at, now)}: ${outcome}${esc(off)}`;
}

function lastPitrRehearsal(r: NonNullable<BackupStatus['lastPitrRehearsal']>, now: number): string {
  if (!r.trusted || !r.rehearsedAt || !r.point)
    return bad(`record not trusted (${r.error ?? 'unknown reason'}): counts as not rehearsed`);
  const outcome = r.passed ? 'passed' : bad(`failed: ${r.error ?? 'no reason recorded'}`);
  return `a restore to ${when(r.point, now)}, rehearsed ${when(r.rehearsedAt, now)}: ${outcome}`;
}

function offsite(status: BackupStatus, now: number): string {
  const o = status.offsite;
  if (!o) return muted('not configured');
  const newest = !o.read
    ? 'not read yet'
    : o.newestConfirmedAt
      ? `newest copy ${when(o.newestConfirmedAt, now)}`
      : bad('no copy in the store');
  const copy = !o.lastCopy
    ? 'no copy run yet'
    : o.lastCopy.ok
      ? `last copy run ${when(o.lastCopy.at, now)}: succeeded`
      : `last copy run ${when(o.lastCopy.at, now)}: ${bad(`failed: ${o.lastCopy.failure ?? ''}`)}`;
  return `${esc(o.location)}: ${newest}; ${copy}`;
}

function nextRun(status: BackupStatus, now: number): string {
  if (!status.task) return muted('no task');
  const n = status.nextRun;
  if (!n) return muted('not scheduled (scheduled = false)');
  const every = `every ${esc(formatDuration(status.task.periodSeconds * 1000))}`;
  if (n.running) return `running now (${every})`;
  return n.due ? `due now (${every})` : `${when(n.at, now)} (${every})`;
}

function lastRun(status: BackupStatus, now: number): string {
  const r = status.lastRun;
  if (!r) return muted('none recorded');
  const outcome = r.outcome === 'failed' ? bad('failed') : esc(r.outcome);
  return `started ${when(r.startedAt, now)}: ${outcome}`;
}

function problems(list: StatusProblem[], now: number): string {
  if (list.length === 0) return '<p id="problems">No open problems.</p>';
  const items = list.map(
    (p) =>
      `<li><span class="overall ${p.severity}">${esc(p.severity)}</span> <span class="kind">${esc(p.kind)}</span> ` +
      `since ${when(p.since, now)}: ${esc(p.reason)}${p.suggestion ? ` <span class="muted">${esc(p.suggestion)}</span>` : ''}</li>`,
  );
  return `<ul id="problems">\n${items.join('\n')}\n</ul>`;
}

/** "2026-01-11 10:30 UTC (3 hours ago)". */
function when(iso: string, now: number): string {
  const at = Date.parse(iso);
  const text = `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  const delta = now - at;
  const ago =
    Math.abs(delta) < 1000
      ? 'now'
      : delta > 0
        ? `${formatDuration(delta)} ago`
        : `in ${formatDuration(-delta)}`;
  return `<time datetime="${esc(iso)}">${esc(text)}</time> (${esc(ago)})`;
}

function bad(text: string): string {
  return `<span class="bad">${esc(text)}</span>`;
}

function muted(text: string): string {
  return `<span class="muted">${esc(text)}</span>`;
}

function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
