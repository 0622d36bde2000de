// Who made a temporary load role (load-login.ts): its comment names the process (host, pid and pid namespace), so a
// start-up sweep can tell a role whose maker was killed from one a live process (this one or another replica sharing
// the database) is loading with right now.
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export interface LoadOwner {
  host: string;
  pid: number;
  /** The pid namespace (/proc/self/ns/pid): a pid means something only inside the same one. */
  pidns: string;
  /**
   * The server's database the load was for (db_url's): only a server or sidecar of that database sweeps the role, so
   * servers sharing a cluster leave each other's alone. Absent in comments of older versions.
   */
  database?: string;
}

export function currentLoadOwner(): LoadOwner {
  let pidns = '';
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // no /proc: pids are not compared, such roles are judged by their expiry alone
  }
  return { host: hostname(), pid: process.pid, pidns };
}

/** The comment a load role carries. */
export function ownerComment(owner: LoadOwner = currentLoadOwner()): string {
  return JSON.stringify({ bomnipotentLoad: 1, ...owner });
}

/** The maker named by a role's comment; null when the comment is not ours (made by an older version, edited). */
export function parseOwnerComment(comment: string | null): LoadOwner | null {
  if (comment === null) return null;
  try {
    const value = JSON.parse(comment) as Partial<LoadOwner> & { bomnipotentLoad?: unknown };
    if (value.bomnipotentLoad !== 1 || typeof value.host !== 'string' || typeof value.pidns !== 'string')
      return null;
    if (typeof value.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return null;
    const owner = { host: value.host, pid: value.pid, pidns: value.pidns };
    return typeof value.database === 'string' ? { ...owner, database: value.database } : owner;
  } catch {
    return null;
  }
}

/** An SQL string literal (standard_conforming_strings on). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
