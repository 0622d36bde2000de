// Lint: type-aware rules everywhere, and handlers/ kept free of process and fetch (the import rules that keep them
// pure, and the rule against import circles, are in .dependency-cruiser.cjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// A restore holds the database read-only for every replica; a session can override that default. Only the server's own
// records that the restore writes itself or carries over may: a request's data never. The files below may; no other.
const READ_ONLY_OVERRIDE = String.raw`/READ WRITE|transaction_read_only\s*=\s*off|SESSION CHARACTERISTICS|default_transaction_read_only\s*(=|TO)\s*(off|false)/i`;
const READ_ONLY_MESSAGE =
  "Writes through a restore's read-only setting are for the server's own carried-over records only (runtime/db: the seen signatures, operations, the notifications' outbox, the off-site state, the carry-over and the migrations).";
const readOnlyOverrides = (allowedCall) => [
  'error',
  {
    selector: `CallExpression[callee.property.name='writeThroughReadOnly']${allowedCall ? `:not(${allowedCall})` : ''}`,
    message: READ_ONLY_MESSAGE,
  },
  { selector: `Literal[value=${READ_ONLY_OVERRIDE}]`, message: READ_ONLY_MESSAGE },
  { selector: `TemplateElement[value.raw=${READ_ONLY_OVERRIDE}]`, message: READ_ONLY_MESSAGE },
];

const FUNCTION_SIZE = { skipBlankLines: true, skipComments: true, IIFEs: true };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'bench/results/**', 'bin/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['handlers/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'handlers/ get configuration passed in; no process.env here.' },
        { name: 'fetch', message: 'handlers/ do I/O through ports.' },
        { name: 'setTimeout', message: 'handlers/ wait through the Clock port (clock.sleep).' },
        { name: 'setInterval', message: 'handlers/ wait through the Clock port (clock.sleep).' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'handlers/ read time through the Clock port.' },
        { object: 'performance', property: 'now', message: 'handlers/ read time through the Clock port.' },
      ],
    },
  },
  {
    // The size of a room (issue 22): at most 300 lines of code in a source file, at most 80 in a function or factory
    // closure; blank and comment lines do not count (docs/development.md says why). The benchmark too.
    files: ['handlers/**/*.ts', 'runtime/**/*.ts', 'client/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { ...FUNCTION_SIZE, max: 80 }],
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['handlers/**/*.ts', 'runtime/**/*.ts', 'client/**/*.ts'],
    ignores: [
      'runtime/db/handle.ts', // where the override is defined
      'runtime/db/lifecycle.ts', // the carry-over into the restored database
      'runtime/db/migrate.ts', // migrations of the restored database before it is made writable
      'runtime/db/operations-store.ts', // operation records, carried over
      'runtime/db/accounts-store.ts', // below: rememberSignature only
      'runtime/db/notify-store.ts', // notifications: a restore's own messages (started, failed) are queued during it
      'runtime/db/offsite-state.ts', // the status' off-site state: a copy run may end during a restore; carried over
    ],
    rules: { 'no-restricted-syntax': readOnlyOverrides() },
  },
  {
    // The replay guard only: the seen signatures are carried over into the restored database.
    files: ['runtime/db/accounts-store.ts'],
    rules: {
      'no-restricted-syntax': readOnlyOverrides("Property[key.name='rememberSignature'] CallExpression"),
    },
  },
  { files: ['*.js', '*.mjs', 'scripts/**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { module: 'writable' },
    },
  },
);
