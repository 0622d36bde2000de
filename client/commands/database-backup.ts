// database-backup create|list (completely-restore is added by database-backup-restore.ts).
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { registerRestoreCommand } from './database-backup-restore';
import { registerStatusCommand } from './database-backup-status';
import { registerVerifyCommand } from './database-backup-verify';

interface Listing {
  file: string;
  takenAt: string;
  sizeBytes: number;
  trigger: string | null;
  user: string | null;
  verified: boolean;
  state?: string;
  problem?: string;
}

interface Chain {
  problem: string | null;
}

export function registerBackupCommands(program: Command, ctx: ClientContext): void {
  const backup = program
    .command('database-backup')
    .description("Back up the server's database, list backups, restore");

  backup
    .command('create')
    .description('Make a backup now into the directory of the database_backup task (admin only)')
    .action(
      ctx.action(async () => {
        const response = await ctx.operation('POST', '/database-backup');
        const { path } = response.json as { path: string };
        ctx.out().result(response, `Successfully stored database backup under '${path}'.`);
      }),
    );

  backup
    .command('list')
    .description(
      'List the backups on the server, newest first, each with its trust state from its signed manifest (admin only)',
    )
    .action(
      ctx.action(async () => {
        const response = await ctx.api().request('GET', '/database-backups');
        const { backups, chain } = response.json as { backups: Listing[]; chain?: Chain };
        const out = ctx.out();
        if (chain?.problem) out.log('warn', `Backups are missing: ${chain.problem}.`);
        out.result(
          response,
          backups.length === 0
            ? 'No database backups on the server yet.'
            : `Found ${backups.length} database backup(s), newest first:`,
        );
        if (backups.length > 0) out.detail(formatTable(backups));
      }),
    );

  registerVerifyCommand(backup, ctx);
  registerRestoreCommand(backup, ctx);
  registerStatusCommand(backup, ctx);
}

export function formatTable(backups: readonly Listing[]): string {
  const rows = backups.map((b) => [
    b.takenAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
    b.file,
    formatSize(b.sizeBytes),
    b.trigger ?? '?',
    b.verified ? '✓ trusted' : `✗ ${b.state ?? 'untrusted'}: ${b.problem ?? ''}`.trimEnd(),
  ]);
  const header = ['TIME (UTC)', 'FILE', 'SIZE', 'TRIGGER', 'TRUST'];
  // The last column is free text: it is not padded.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
