// who-am-i: the name the server associates with the request's signature, and what it may do.
import type { Principal } from './principal';

export interface WhoAmI {
  user: string;
  roles: string[];
  permissions: string[];
  isAdmin: boolean;
}

export function whoAmI(principal: Principal): WhoAmI {
  return {
    user: principal.name,
    roles: [...principal.roles],
    permissions: [...principal.permissions].sort(),
    isAdmin: principal.isAdmin,
  };
}
