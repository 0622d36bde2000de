// Secrets never reach a log line or an error message: passwords in URLs, tokens and PGPASSWORD values become ***.

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s]*)@/gi;
const KEY_VALUE =
  /\b(password|passwd|pgpassword|token|secret|authorization)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;

const registered = new Set<string>();

/** Values that must never be printed, whatever their context (for example a sidecar token read from the config). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value);
}

/** Whether a text holds a registered secret's value (a config line with a literal password, say). */
export function containsRegisteredSecret(text: string): boolean {
  for (const secret of registered) if (text.includes(secret)) return true;
  return false;
}

// The user info of a URL, up to the last @ before the path, so that an unencoded @ in a password does not leak its tail.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/?#\s]*)@/gi;

/** postgres://bob:pw@host:5432/db -> postgres://***:***@host:5432/db (the user is hidden too). */
export function maskUrl(url: string): string {
  return url.replace(URL_USERINFO, (_match, scheme: string, userinfo: string) =>
    userinfo.includes(':') ? `${scheme}***:***@` : `${scheme}***@`,
  );
}

export function maskSecrets(text: string): string {
  // The placeholder of a documented form (postgres://<user>:<password>@...) is not a secret and stays readable.
  let out = text
    .replace(URL_PASSWORD, (match, head: string, password: string) =>
      password === '<password>' ? match : `${head}***@`,
    )
    .replace(KEY_VALUE, '$1$2***');
  for (const secret of registered) out = out.split(secret).join('***');
  return out;
}
