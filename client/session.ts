// session.toml in the client's config folder. Owned by the accounts work (session login|status|logout).
import type { GlobalOptions } from './options';

export function readSession(_env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  return {};
}
