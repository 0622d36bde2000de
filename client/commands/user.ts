// `user request|approve|deny|list`: ask for an account (with a key pair made on first use) and manage requests.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import { resolveRequestKey } from '../keys';

interface UserListBody {
  users: { user: string; status: string; kind: string; roles: string[]; keyExpiresAt: string | null }[];
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
        out.result(response, `Requested new user '${email}'; a user manager has to approve it.`);
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
    .command('list')
    .description('List users with their status, roles and key expiry (needs USER_MANAGEMENT)')
    .action(
      ctx.action(async () => {
        const response = await ctx.api().request('GET', '/users');
        const out = ctx.out();
        if (out.mode !== 'normal') return out.result(response, '');
        const { users } = response.json as UserListBody;
        const rows = users.map((u) => [
          u.user,
          u.status,
          u.kind,
          u.roles.join(',') || '-',
          u.keyExpiresAt ?? '-',
        ]);
        out.detail(formatTable([['USER', 'STATUS', 'KIND', 'ROLES', 'KEY EXPIRES'], ...rows]));
      }),
    );
}
