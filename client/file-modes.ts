// The client's private files: a secret key that others may read is refused (as ssh does), a session file that
// others may read is warned about.
import { statSync } from 'node:fs';

/** The permission bits group and others hold on path; 0 when the file system has none (Windows) or path is missing. */
function openBits(path: string): number {
  if (process.platform === 'win32') return 0;
  try {
    return statSync(path).mode & 0o077;
  } catch {
    return 0;
  }
}

export function checkSecretKeyMode(path: string): void {
  const bits = openBits(path);
  if (bits !== 0) {
    throw new Error(
      `The secret key "${path}" can be read by group or others (mode ${bits.toString(8).padStart(3, '0')} beyond the owner): ` +
        `refused. Run \`chmod 600 "${path}"\`; if others may have read it, revoke the key and make a new one.`,
    );
  }
}

export function sessionModeWarning(path: string): string | undefined {
  if (openBits(path) === 0) return undefined;
  return `The session file "${path}" can be read by group or others: \`chmod 600 "${path}"\`.`;
}
