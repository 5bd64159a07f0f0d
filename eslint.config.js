// ESLint flat config (eslint 9 + typescript-eslint). Syntax-only rules, no type information: the
// whole tree lints in a few seconds, so `npm run lint` can sit in `npm test`. tsc (strict,
// noUnusedLocals, noUnusedParameters) already checks types; these rules catch what it does not.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The Node globals the scripts and benches (plain .mjs) use; TypeScript files get them from @types/node.
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextEncoder',
    'TextDecoder',
    'AbortController',
    'AbortSignal',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'performance',
    'fetch',
    'crypto',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-check/',
      'build/',
      '**/.kiln/',
      'examples/*/build/',
      'examples/*/target/',
      'node_modules/',
      'docs/api/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a binding kept on purpose (a destructured-away field, a callback slot).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      // A `let` that a closure reads before its one assignment (a session handed to a callback) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-throw-literal': 'error',
      'no-return-assign': 'error',
      'no-self-compare': 'error',
      // kiln reads serial consoles and binary names: control characters in a pattern are the point.
      'no-control-regex': 'off',
      // Tests match indented terminal output literally; `\n  PASS` reads better than `\n {2}PASS`.
      'no-regex-spaces': 'off',
      '@typescript-eslint/no-non-null-asserted-optional-chain': 'error',
    },
  },
  {
    // Plain JavaScript (scripts, benches, the bin and loader shims): no TypeScript-only rules.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
