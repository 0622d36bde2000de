// What the server answers on the account routes, as the client reads it (zod/mini; loose objects, see
// backup-answers.ts).
import * as z from 'zod/mini';

/** An older server may answer a user request without a body: the client then says the fingerprint is not known. */
export const userRequestAnswer = z.optional(
  z.looseObject({ keyFingerprint: z.optional(z.string()), bootstrap: z.optional(z.boolean()) }),
);

const keyEntry = z.looseObject({
  fingerprint: z.string(),
  expiresAt: z.string(),
  revokedAt: z.nullable(z.string()),
});

export const userListAnswer = z.looseObject({
  users: z.array(
    z.looseObject({
      user: z.string(),
      status: z.string(),
      kind: z.string(),
      roles: z.array(z.string()),
      keys: z.optional(z.array(keyEntry)),
    }),
  ),
});

export const revokeKeyAnswer = z.looseObject({ revoked: z.array(z.string()) });

export const whoAmIAnswer = z.looseObject({ user: z.string() });

/** The client reads nothing from these answers but their status. */
export const anyAnswer = z.unknown();
