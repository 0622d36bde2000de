// A schema that dumps and verifies but does not load (the classic restore failure rehearsals exist to find): a CHECK
// on a_uses calls a function that reads z_refs, and pg_dump writes a_uses' rows first, while z_refs is still empty.
import { adminQuery } from './pg';

/** Adds that schema to `database`: its next backup verifies and fails to load on `a_uses_ref_check`. */
export async function makeUnloadable(database: string): Promise<void> {
  await adminQuery(
    `CREATE TABLE z_refs (id int PRIMARY KEY); INSERT INTO z_refs VALUES (1);
     CREATE FUNCTION public.ref_exists(int) RETURNS boolean LANGUAGE sql IMMUTABLE
       AS 'SELECT EXISTS (SELECT 1 FROM public.z_refs WHERE id = $1)';
     CREATE TABLE a_uses (ref int CHECK (public.ref_exists(ref))); INSERT INTO a_uses VALUES (1);`,
    [],
    database,
  );
}
