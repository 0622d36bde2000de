// `user request|approve|deny|list`: ask for an account (with a key pair made on first use) and manage requests.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { resolveRequestKey } from '../keys';

interface KeyEntry {
  fingerprint: string;
  expiresAt: string;
  revokedAt: string | null;
}

interface UserListBody {
  users: { user: string; status: string; kind: string; roles: string[]; keys?: KeyEntry[] }[];
}

/** One line per key: the fingerprint, then revoked (when) or its expiry. */
function keyCells(keys: KeyEntry[] | undefined): string[] {
  if (!keys || keys.length === 0) return ['-'];
  return keys.map(
    (k) => `${k.fingerprint} ${k.revokedAt ? `revoked ${k.revokedAt}` : `expires ${k.expiresAt}`}`,
  );
}

const userPath = (user: string) => `/users/${encodeURIComponent(user)}`;

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function registerUserCommands(program: Command, ctx: ClientContext): void {
  const user = program.command('user').description('Request an account, and approve, deny or list users');

  user
    .command('request')
    .description('Request an account; makes an ed25519 key pair on first use and sends its public key')
    .argument('<email>', 'the user name (usually an email)')
    .argument(
      '[key-path]',
      'a public key file to send, or a new path for a new pair (<path>_secret_key.pem, <path>_public_key.pem)',
    )
    .option('--robot', 'the account is a robot (automation), not a human')
    .action(
      ctx.action(async (email: string, keyPath: string | undefined, opts: { robot?: boolean }) => {
        // Resolved (and a secret key refused) before anything is sent.
        const key = resolveRequestKey(keyPath, ctx.env);
        const out = ctx.out();
        if (key.created)
          out.log(
            'info',
            `Stored a new key pair: secret key '${key.secretKeyPath}', public key '${key.publicKeyPath}'.`,
          );
        const response = await ctx.api({ unsigned: true }).request('POST', '/users', {
          user: email,
          publicKey: key.publicKeyPem,
          robot: opts.robot === true,
        });
        const { keyFingerprint, bootstrap } = (response.json ?? {}) as {
          keyFingerprint?: string;
          bootstrap?: boolean;
        };
        // The tmp_admin line only while the server has no approved admin: later it would invite a needless risk.
        const tmpAdmin =
          bootstrap === true
            ? ' To bootstrap the first admin, the server config names this key: ' +
              `[user] tmp_admin = "${email}:${keyFingerprint ?? 'SHA256:...'}".`
            : '';
        out.result(
          response,
          `Requested new user '${email}' with the key ${keyFingerprint ?? '(fingerprint not reported)'}; ` +
            `a user manager has to approve it.${tmpAdmin}`,
        );
        if (key.secretKeyPath)
          out.log('debug', `Sign later requests with --user ${email} --secret-key '${key.secretKeyPath}'.`);
      }),
    );

  for (const [verb, past] of [
    ['approve', 'Approved'],
    ['deny', 'Denied'],
  ] as const) {
    user
      .command(verb)
      .description(`${past === 'Approved' ? 'Approve' : 'Deny'} a user's request (needs USER_MANAGEMENT)`)
      .argument('<email>', 'the user')
      .action(
        ctx.action(async (email: string) => {
          const response = await ctx.api().request('POST', `${userPath(email)}/${verb}`);
          ctx.out().result(response, `${past} user '${email}'.`);
        }),
      );
  }

  user
    .command('revoke-key')
    .description(
      "Revoke one key of a user, or all of them (needs USER_MANAGEMENT; an admin's keys need admin)",
    )
    .argument('<email>', 'the user')
    .argument(
      '[fingerprint]',
      'the key to revoke, as `user list` shows it (SHA256:...); without it, every key',
    )
    .action(
      ctx.action(async (email: string, fingerprint: string | undefined) => {
        const body = fingerprint === undefined ? {} : { fingerprint };
        const response = await ctx.api().request('POST', `${userPath(email)}/revoke-key`, body);
        const { revoked } = response.json as { revoked: string[] };
        ctx.out().result(response, `Revoked ${revoked.length} key(s) of '${email}': ${revoked.join(', ')}.`);
      }),
    );

  user
    .command('list')
    .description(
      'List users with their status, roles and keys (fingerprint, expiry, revocation; needs USER_MANAGEMENT)',
    )
    .action(
      ctx.action(async () => {
        const response = await ctx.api().request('GET', '/users');
        const out = ctx.out();
        if (out.mode !== 'normal') return out.result(response, '');
        const { users } = response.json as UserListBody;
        // A user with several keys takes several lines; the first carries the user's columns.
        const rows = users.flatMap((u) =>
          keyCells(u.keys).map((key, i) =>
            i === 0 ? [u.user, u.status, u.kind, u.roles.join(',') || '-', key] : ['', '', '', '', key],
          ),
        );
        out.detail(formatTable([['USER', 'STATUS', 'KIND', 'ROLES', 'KEYS'], ...rows]));
      }),
    );
}
