// Who made a request, as established by the signature check; handlers receive it as plain data.

export interface Principal {
  name: string; // the user's email or name
  roles: readonly string[];
  permissions: ReadonlySet<string>;
  isAdmin: boolean; // holds the built-in admin role (every permission, and the only one that may back up and restore)
}
