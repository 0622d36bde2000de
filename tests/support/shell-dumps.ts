// Dumps that try to reach a shell through SQL (COPY ... TO PROGRAM touching `proof`), for the non-superuser promise.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeCompletionMarker } from './restore-real';

/** Writes an unsigned copy of `file` with `sql` before its completion marker; returns its name. */
export async function craftedDump(directory: string, file: string, sql: string): Promise<string> {
  const original = await readFile(join(directory, file), 'utf8');
  const crafted = file.replace(/_\d{8}_\d{6}\./, '_20200101_000000.');
  await writeFile(join(directory, crafted), beforeCompletionMarker(original, sql), { mode: 0o600 });
  return crafted;
}

/** Defines public.shell(), which runs COPY ... TO PROGRAM. */
export const shellFunction = (proof: string): string =>
  `CREATE FUNCTION public.shell() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch ${proof}'''; END $f$;`;

/** Defines and calls public.escape(), which runs `leave` and then COPY ... TO PROGRAM. */
export const escapeVia = (proof: string, leave: string): string =>
  `CREATE FUNCTION public.escape() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN ${leave} EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch ${proof}'''; END $f$;
SELECT public.escape();`;
