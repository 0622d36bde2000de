// `database-backup completely-restore`. A stub: owned and replaced by the restore work.
import type { Command } from 'commander';
import type { ClientContext } from '../context';

export function registerRestoreCommand(_backupCommand: Command, _ctx: ClientContext): void {}
