import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'lib/',
      'node_modules/',
      'coverage/',
      'reports/',
      '.stryker-tmp/',
      '__fixtures__/**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/rails/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'child_process', 'net', 'http', 'https'],
              message: 'rails/ is pure: no I/O.',
            },
            {
              group: [
                '**/store/**',
                '**/git/**',
                '**/act/**',
                '**/report/**',
                '@actions/*',
                'pg',
                '@electric-sql/*',
              ],
              message: 'rails/ is pure: no I/O.',
            },
          ],
        },
      ],
    },
  },
);
