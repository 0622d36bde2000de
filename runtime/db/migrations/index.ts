// Every schema migration, in order. Append new ones; never edit or reorder a released one.
import type { Migration } from './types';
import { core } from './001-core';

export const MIGRATIONS: readonly Migration[] = [core];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
