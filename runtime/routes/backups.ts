// Backup routes (create, list, restore) and the metrics endpoint. Owned by the backup work; wired in runtime/app.ts.
import type { Hono } from 'hono';
import type { AppEnv } from '../http-env';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface BackupRouteDeps {}

export function registerBackupRoutes(_app: Hono<AppEnv>, _deps: BackupRouteDeps): void {}
