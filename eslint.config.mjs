// @ts-check
import tseslint from 'typescript-eslint';

const frameworkAndIo = [
  { group: ['@nestjs/*', 'typeorm', 'typeorm/*', 'pg', 'pg-*', 'bullmq', 'ioredis', 'rss-parser', 'nodemailer', 'iconv-lite'], message: 'libs/domain is pure: no framework, ORM, queue or I/O.' },
  { group: ['node:*', 'fs', 'fs/*', 'http', 'https', 'net', 'dns', 'child_process', 'crypto', 'os', 'path'], message: 'libs/domain is pure: time, ids and I/O come in as inputs.' },
  { group: ['@chiptrail/*', '../../*'], message: 'libs/domain depends on nothing else in the repository.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'apps/admin/dist/**', 'coverage/**', '.data/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { requireDefaultForNonUnion: false, considerDefaultExhaustiveForUnions: false }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read configuration through libs/config only.' },
      ],
    },
  },
  {
    files: ['libs/config/src/config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['libs/domain/**/*.ts'],
    ignores: ['libs/domain/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: frameworkAndIo }],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'The network comes in as an input.' }, { name: 'setTimeout', message: 'Time comes in as an input.' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Time comes in as an input: `new Date()` reads the clock.' },
        { selector: "MemberExpression[object.name='process']", message: 'libs/domain is pure: no process access.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Time comes in as an input (a Clock or an explicit date).' },
        { object: 'Math', property: 'random', message: 'Randomness comes in as an input.' },
      ],
    },
  },
);
