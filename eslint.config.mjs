import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.network/**',
      '.test-results/**',
      '.bench-dist/**',
      '**/dist-pi/**',
      'jest.config.js',
    ],
  },
  eslint.configs.recommended,
  {
    // TypeScript: typescript-eslint's strictest type-checked rules, as fabric-gateway uses them.
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Numbers in messages ("at most 96 readings") read naturally.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Small functions: a function this branchy wants splitting.
      complexity: ['error', 15],
      // Typed decoding (`unmarshal<BillRecord>(bytes)`) names the record type at the call site on purpose.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
    },
  },
  {
    // The portal's browser modules are type-checked against the DOM by their own tsconfig, not the project's.
    files: ['portal/web-src/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: './portal/tsconfig.web.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    // Tests implement async interfaces with fakes that have nothing to await.
    files: ['**/test/**/*.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Plain CommonJS scripts run by Node directly (the external builder).
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', process: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
  },
  {
    // Build scripts run by Node as ES modules.
    files: ['**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
);
