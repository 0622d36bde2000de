// Request signatures (client side). Owned by the accounts work: the canonical string lives in handlers/accounts.

export interface SignInput {
  method: string;
  pathAndQuery: string;
  user: string;
  body: string;
  secretKeyPem: string;
  now?: Date;
}

/** Headers that authenticate a request; the accounts work fills this in. */
export function signRequest(_input: SignInput): Record<string, string> {
  throw new Error('signRequest is not implemented yet');
}
