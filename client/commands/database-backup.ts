// database-backup create|list|completely-restore. Owned by the backup work.
import type { Command } from 'commander';
import type { ClientContext } from '../context';

export function registerBackupCommands(_program: Command, _ctx: ClientContext): void {}
