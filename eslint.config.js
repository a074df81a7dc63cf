// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Time goes through the Clock: no direct timers outside util/clock.ts, bench/ and test helpers.
    files: ['src/**/*.ts'],
    ignores: ['src/util/clock.ts', 'src/cli/**'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'use the injected Clock' },
        { name: 'setInterval', message: 'use the injected Clock' }],
    },
  },
);
