// `database-backup overview`: the status at a glance (GET /database-backup/status), one line per fact; exit code 1
// while a problem is open, so that a cron job or a shell prompt can use it.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import type * as z from 'zod/mini';
import { ROUTES } from '../../handlers/api/routes';
import type { statusAnswer } from '../../handlers/api/backup-answers';
import { callRoute } from '../answers';

/** The status as the client reads it (the server's full shape: BackupStatus in handlers/backup/status.ts). */
type BackupStatus = z.output<typeof statusAnswer>;

export function registerOverviewCommand(backupCommand: Command, ctx: ClientContext): void {
  backupCommand
    .command('overview')
    .description(
      'Show the status at a glance: last good backup, last rehearsal, off-site copies, next run, open problems (admin only)',
    )
    .action(
      ctx.action(async () => {
        const { response, answer: status } = await callRoute(ctx.api(), ROUTES.backupStatus);
        const out = ctx.out();
        const n = status.problems.length;
        out.result(
          response,
          status.overall === 'no task'
            ? 'The server has no database_backup task.'
            : n === 0
              ? `Backups of '${status.database}': no open problem.`
              : `Backups of '${status.database}': ${n} open problem(s), the worst ${status.overall}.`,
        );
        for (const line of overviewLines(status)) out.detail(line);
        if (n > 0) process.exitCode = 1;
      }),
    );
}

export function overviewLines(s: BackupStatus): string[] {
  if (!s.task) return s.problems.map((p) => `problem (${p.severity}) ${p.kind}: ${p.reason}`);
  const good = s.lastGoodBackup;
  const r = s.lastRehearsal;
  const o = s.offsite;
  return [
    `last good backup:   ${good ? `${good.file} (${good.takenAt})${good.stale ? ' STALE' : ''}` : 'none'}`,
    `last rehearsal:     ${r ? `${r.file} (${r.at}) ${r.passed ? 'passed' : `FAILED: ${r.error ?? ''}`}` : 'none'}`,
    `off-site copies:    ${offsiteLine(o)}`,
    `next scheduled run: ${!s.nextRun ? 'not scheduled' : s.nextRun.running ? 'running now' : s.nextRun.due ? 'due now' : s.nextRun.at}`,
    ...s.problems.map((p) => `problem (${p.severity}) ${p.kind} since ${p.since}: ${p.reason}`),
  ];
}

function offsiteLine(o: BackupStatus['offsite']): string {
  if (!o) return 'not configured';
  const newest = !o.read ? 'not read yet' : (o.newestConfirmedAt ?? 'none in the store');
  const copy = !o.lastCopy
    ? 'no copy run yet'
    : o.lastCopy.ok
      ? 'last copy ok'
      : `last copy FAILED: ${o.lastCopy.failure ?? ''}`;
  return `${o.location}, newest ${newest}, ${copy}`;
}
