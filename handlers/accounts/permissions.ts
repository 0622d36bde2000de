// Permissions, the built-in admin role and the default roles a fresh database starts with.

export const PERMISSIONS = [
  'BOM_MANAGEMENT',
  'CSAF_MANAGEMENT',
  'ROLE_MANAGEMENT',
  'USER_MANAGEMENT',
  'VULN_MANAGEMENT',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Built into the code, never stored as an editable role: holds every permission, and alone may back up and restore. */
export const ADMIN_ROLE = 'admin';

/** Seeded by migration 002; administrators may change them later. */
export const DEFAULT_ROLES: Readonly<Record<string, readonly Permission[]>> = {
  bom_manager: ['BOM_MANAGEMENT'],
  csaf_manager: ['CSAF_MANAGEMENT'],
  role_manager: ['ROLE_MANAGEMENT'],
  user_manager: ['USER_MANAGEMENT'],
  vuln_manager: ['VULN_MANAGEMENT'],
};
