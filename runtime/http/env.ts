// The Hono environment shared by the app, its middleware and its routes.
import type { Principal } from '../../handlers/accounts/principal';

export interface AppEnv {
  Variables: {
    /** Set by the authentication middleware when the request carried a valid signature. */
    principal: Principal | undefined;
  };
}
