// database-backup create|list (completely-restore is added by database-backup-restore.ts).
import type { Command } from 'commander';
import type * as z from 'zod/mini';
import type { ClientContext } from '../context';
import { formatSize } from '../progress-bar';
import { registerRestoreCommand } from './database-backup-restore';
import { registerStatusCommand } from './database-backup-status';
import { registerVerifyCommand } from './database-backup-verify';
import { registerRehearseCommand } from './database-backup-rehearse';
import { describePitrWindow } from '../../handlers/pitr/summary';
import { describePitrRehearsal } from '../../handlers/pitr/rehearsal-summary';
import { registerNotifyTestCommand } from './database-backup-notify-test';
import { registerOverviewCommand } from './database-backup-overview';
import { ROUTES } from '../../handlers/api/routes';
import type { listAnswer, listingEntry } from '../../handlers/api/backup-answers';
import { callRoute, readAnswer } from '../answers';

type Listing = z.output<typeof listingEntry>;
type Rehearsal = NonNullable<Listing['rehearsal']>;
type OffsiteSummary = NonNullable<z.output<typeof listAnswer>['offsite']>;

export function registerBackupCommands(program: Command, ctx: ClientContext): void {
  const backup = program
    .command('database-backup')
    .description("Back up the server's database, list backups, restore");

  backup
    .command('create')
    .description('Make a backup now into the directory of the database_backup task (admin only)')
    .option(
      '--wait-rehearsal',
      'also wait for the rehearsal of the new backup (rehearse = true) and warn when it did not pass',
    )
    .action(
      ctx.action(async (options: { waitRehearsal?: boolean }) => {
        const route = ROUTES.createBackup;
        const response = await ctx.operation(
          route,
          options.waitRehearsal ? { waitRehearsal: true } : undefined,
        );
        const { path, warnings } = readAnswer(route, response);
        const out = ctx.out();
        out.result(response, `Successfully stored database backup under '${path}'.`);
        // After the documented line, not instead of it: the backup exists; the exit code stays 0.
        for (const warning of warnings ?? []) out.log('warn', warning);
      }),
    );

  backup
    .command('list')
    .description(
      'List the backups on the server, newest first, each with its trust state from its signed manifest (admin only)',
    )
    .option('--offsite', 'List only the copies in the off-site store (the `offsite` key of the task)')
    .action(
      ctx.action(async (options: { offsite?: boolean }) => {
        const { response, answer } = await callRoute(ctx.api(), ROUTES.listBackups, {
          query: options.offsite ? '?offsite=only' : '',
        });
        const { backups, chain, audit, offsite, pitr, pitrRehearsal } = answer;
        const out = ctx.out();
        if (chain?.problem) out.log('warn', `Backups are missing: ${chain.problem}.`);
        if (audit?.problem) out.log('warn', `Audit log: ${audit.problem}.`);
        if (offsite) reportOffsite(out, offsite);
        out.result(
          response,
          backups.length === 0
            ? 'No database backups on the server yet.'
            : `Found ${backups.length} database backup(s), newest first:`,
        );
        if (backups.length > 0) out.detail(formatTable(backups));
        if (pitr?.problem) out.log('warn', `Point-in-time recovery: ${pitr.problem}.`);
        if (pitr) out.detail(describePitrWindow(pitr));
        if (pitrRehearsal !== undefined) {
          const told = describePitrRehearsal(pitrRehearsal);
          if (told.warn) out.log('warn', told.line);
          else out.detail(told.line);
        }
        const standby = backups.find((b) => b.rehearsal?.state === 'passed' && b.rehearsal.standby);
        if (standby?.rehearsal?.state === 'passed' && standby.rehearsal.standby) {
          const { database, sizeBytes } = standby.rehearsal.standby;
          out.detail(
            `Standby database '${database}' (${formatSize(sizeBytes)}, one more copy of the database) was built from ${standby.file}.`,
          );
        }
      }),
    );

  registerVerifyCommand(backup, ctx);
  registerRehearseCommand(backup, ctx);
  registerRestoreCommand(backup, ctx);
  registerStatusCommand(backup, ctx);
  registerNotifyTestCommand(backup, ctx);
  registerOverviewCommand(backup, ctx);
}

function reportOffsite(out: ReturnType<ClientContext['out']>, offsite: OffsiteSummary): void {
  if (offsite.error)
    out.log('warn', `The off-site store ${offsite.location} could not be read: ${offsite.error}`);
  if (offsite.incomplete.length > 0) {
    out.log(
      'warn',
      `Incomplete uploads in ${offsite.location} (not backups, retried on the next run): ${offsite.incomplete.join(', ')}`,
    );
  }
  if (offsite.foreign.length > 0) {
    out.log(
      'info',
      `Objects in ${offsite.location} that are not backups of this product: ${offsite.foreign.join(', ')}`,
    );
  }
}

export function formatTable(backups: readonly Listing[]): string {
  const located = backups.some((b) => b.location !== undefined);
  const rehearsed = backups.some((b) => b.rehearsal !== undefined);
  const versioned = backups.some((b) => typeof b.serverVersion === 'string');
  const rows = backups.map((b) => [
    b.takenAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
    b.file,
    formatSize(b.sizeBytes),
    ...(versioned ? [b.serverVersion ?? '?'] : []),
    b.trigger ?? '?',
    ...(located ? [b.location ?? '?'] : []),
    ...(rehearsed ? [formatRehearsal(b.rehearsal ?? null)] : []),
    b.verified ? '✓ trusted' : `✗ ${b.state ?? 'untrusted'}: ${b.problem ?? ''}`.trimEnd(),
  ]);
  const header = [
    'TIME (UTC)',
    'FILE',
    'SIZE',
    ...(versioned ? ['POSTGRESQL'] : []),
    'TRIGGER',
    ...(located ? ['LOCATION'] : []),
    ...(rehearsed ? ['REHEARSED'] : []),
    'TRUST',
  ];
  // The last column is free text: it is not padded.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function formatRehearsal(r: Rehearsal | null): string {
  if (r === null) return '-';
  if (r.state === 'untrusted') return '✗ untrusted record';
  const at = r.at.slice(0, 16).replace('T', ' ');
  return r.state === 'passed' ? `✓ ${at} (${r.rows} rows)` : `✗ failed ${at}`;
}
