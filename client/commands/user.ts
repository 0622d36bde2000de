// `user request|approve|deny|list`: ask for an account (with a key pair made on first use) and manage requests.
import type { Command } from 'commander';
import type { ClientContext } from '../context';
import type * as z from 'zod/mini';
import { resolveRequestKey } from '../keys';
import { ROUTES } from '../../handlers/api/routes';
import type { userListAnswer } from '../../handlers/api/account-answers';
import { callRoute } from '../answers';

type KeyEntry = NonNullable<z.output<typeof userListAnswer>['users'][number]['keys']>[number];

/** One line per key: the fingerprint, then revoked (when) or its expiry. */
function keyCells(keys: KeyEntry[] | undefined): string[] {
  if (!keys || keys.length === 0) return ['-'];
  return keys.map(
    (k) => `${k.fingerprint} ${k.revokedAt ? `revoked ${k.revokedAt}` : `expires ${k.expiresAt}`}`,
  );
}

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
  registerRequestCommand(user, ctx);
  registerDecisionCommands(user, ctx);
  registerRevokeKeyCommand(user, ctx);
  registerListCommand(user, ctx);
}

function registerRequestCommand(user: Command, ctx: ClientContext): void {
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
        const { response, answer } = await callRoute(ctx.api({ unsigned: true }), ROUTES.requestUser, {
          body: { user: email, publicKey: key.publicKeyPem, robot: opts.robot === true },
        });
        const { keyFingerprint, bootstrap } = answer ?? {};
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
}

function registerDecisionCommands(user: Command, ctx: ClientContext): void {
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
          const route = verb === 'approve' ? ROUTES.approveUser : ROUTES.denyUser;
          const { response } = await callRoute(ctx.api(), route, { params: { user: email } });
          ctx.out().result(response, `${past} user '${email}'.`);
        }),
      );
  }
}

function registerRevokeKeyCommand(user: Command, ctx: ClientContext): void {
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
        const params = { user: email };
        const { response, answer } = await callRoute(ctx.api(), ROUTES.revokeKey, { params, body });
        const { revoked } = answer;
        ctx.out().result(response, `Revoked ${revoked.length} key(s) of '${email}': ${revoked.join(', ')}.`);
      }),
    );
}

function registerListCommand(user: Command, ctx: ClientContext): void {
  user
    .command('list')
    .description(
      'List users with their status, roles and keys (fingerprint, expiry, revocation; needs USER_MANAGEMENT)',
    )
    .action(
      ctx.action(async () => {
        const { response, answer } = await callRoute(ctx.api(), ROUTES.listUsers);
        const out = ctx.out();
        if (out.mode !== 'normal') return out.result(response, '');
        const { users } = answer;
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
