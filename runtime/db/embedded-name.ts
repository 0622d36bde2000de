// The embedded server's application database, apart from the module that loads the embedded PostgreSQL binaries:
// the configuration summary names it, and the Lambda bundle must not pull those binaries in.
export const EMBEDDED_DATABASE = 'bomnipotent';
