// Request bodies of the account routes, checked at the edge (runtime/routes/accounts.ts); handlers trust them.
import { z } from 'zod';

// Emails or names: printable, no whitespace, no path separators that would make the URL ambiguous.
export const userNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(254)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be kept out
  .regex(/^[^\s/\\?#%\u0000-\u001f\u007f]+$/, {
    error: 'must be an email or a name without spaces, slashes, ?, # or %',
  });

export const roleNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, { error: 'must consist of letters, digits, _, . and -' });

export const userRequestSchema = z.strictObject({
  user: userNameSchema,
  publicKey: z.string().min(1).max(8192),
  robot: z.boolean().default(false),
});
export type UserRequestBody = z.infer<typeof userRequestSchema>;

export const userRoleSchema = z.strictObject({ role: roleNameSchema });

export const revokeKeySchema = z.strictObject({
  fingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, {
      error: 'must be a key fingerprint like "SHA256:…" from `user list`',
    })
    .optional(),
});
