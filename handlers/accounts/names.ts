// User names are emails or plain names; compared case-insensitively, so they are stored in lower case.

export function normalizeUserName(name: string): string {
  return name.trim().toLowerCase();
}
