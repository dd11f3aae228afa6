import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The allowed edges between libraries (docs/architecture.md draws them): each library may
 * import only the libraries named here, never an app, and the rules library no transport.
 * `testing` serves the tests of every library and app.
 */
const LIBS = ['core', 'config', 'logging', 'redis', 'database', 'messaging', 'auth', 'ticketing', 'testing'];
const LAYERS = {
  core: [],
  config: [],
  logging: [],
  redis: ['config', 'core'],
  database: ['config', 'core'],
  messaging: ['config', 'core', 'database'],
  auth: ['config', 'core', 'database', 'redis'],
  ticketing: ['config', 'core', 'database', 'redis'],
  testing: ['auth', 'config', 'core', 'database', 'logging', 'messaging', 'redis'],
};
/** Parts of a library another may import without the rest (message contracts load no AMQP client). */
const PARTS = { ticketing: ['@app/messaging/contracts'], auth: ['@app/messaging/contracts'] };
/** Transports and servers: they belong to the process that runs them (apps/*), not to the rules. */
const TRANSPORTS = ['nodemailer', 'amqplib', 'amqp-connection-manager', 'fastify', '@fastify/*', '@nestjs/platform-*'];
const PERSISTENCE = ['typeorm', '@nestjs/typeorm', 'pg'];
/** Packages a library may not import, beyond the libraries and apps. */
const FORBIDDEN_PACKAGES = {
  core: [...TRANSPORTS, ...PERSISTENCE, 'ioredis'],
  config: [...TRANSPORTS, ...PERSISTENCE, 'ioredis'],
  ticketing: [...TRANSPORTS, ...PERSISTENCE],
  auth: TRANSPORTS,
  database: [...TRANSPORTS, 'ioredis'],
  redis: [...TRANSPORTS, ...PERSISTENCE],
};
const TEST_FILES = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**'];

/** One `no-restricted-imports` setting for a library's files (its tests may use `@app/testing` too). */
function libraryBoundary(lib, { tests }) {
  const allowed = new Set([lib, ...LAYERS[lib], ...(tests ? ['testing'] : [])]);
  const forbiddenLibs = LIBS.filter((other) => !allowed.has(other));
  const paths = [];
  const patterns = [
    {
      group: ['**/apps/**'],
      message: `libs/${lib} may not import an app: apps depend on libraries, never the reverse (docs/architecture.md).`,
    },
  ];
  if (forbiddenLibs.length > 0) {
    const others = [...allowed]
      .filter((name) => name !== lib)
      .map((name) => `@app/${name}`)
      .concat(PARTS[lib] ?? []);
    const message = `libs/${lib} ${others.length > 0 ? `may import only ${others.join(', ')}` : 'imports no other library'} (docs/architecture.md).`;
    // The alias, a part of it (unless allowed) and a relative path into the library's sources alike.
    paths.push(...forbiddenLibs.map((other) => ({ name: `@app/${other}`, message })));
    patterns.push({
      group: forbiddenLibs
        .flatMap((other) => [`@app/${other}/**`, `**/${other}/src`, `**/${other}/src/**`])
        .concat((PARTS[lib] ?? []).map((part) => `!${part}`)),
      message,
    });
  }
  if (FORBIDDEN_PACKAGES[lib]) {
    patterns.push({
      group: FORBIDDEN_PACKAGES[lib],
      message: `libs/${lib} may not import this package: adapters of transports and storage live in the process or library that owns them (docs/architecture.md).`,
    });
  }
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

/** Apps import libraries, and no other app (a test may start another app's module). */
const APPS = ['api', 'batch', 'mailer'];
function appBoundary(app) {
  return {
    'no-restricted-imports': [
      'error',
      {
        paths: [
          {
            name: 'class-validator',
            importNames: ['Length', 'MinLength', 'MaxLength'],
            message:
              "Use MinLength/MaxLength of apps/api/src/common/text-length.ts: class-validator's leave out U+FE0E/U+FE0F, PostgreSQL does not.",
          },
        ],
        patterns: [
          {
            group: APPS.filter((other) => other !== app).flatMap((other) => [
              `**/apps/${other}/**`,
              `**/${other}/src/**`,
            ]),
            message: `apps/${app} may not import another app: shared code goes into a library (docs/architecture.md).`,
          },
          { group: ['@app/testing'], message: 'Only tests use @app/testing.' },
        ],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'logs/**', 'loadtest/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        Buffer: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @app/config (Env); a script through scripts/config.mjs.',
        },
      ],
    },
  },
  // The scripts users run (npm start, start:cluster, loadtest) read their configuration through
  // scripts/config.mjs (libs/config); test harnesses and the bench read their own documented knobs.
  {
    files: [
      'libs/config/**',
      'libs/testing/**',
      '**/*.spec.ts',
      '**/*.e2e-spec.ts',
      '**/*.int-spec.ts',
      'deploy/**',
      'vitest.config.mts',
      'bench/**',
      'loadtest/**',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  ...LIBS.flatMap((lib) => [
    { files: [`libs/${lib}/**/*.ts`], rules: libraryBoundary(lib, { tests: false }) },
    { files: TEST_FILES.map((glob) => `libs/${lib}/${glob}`), rules: libraryBoundary(lib, { tests: true }) },
  ]),
  ...APPS.map((app) => ({ files: [`apps/${app}/src/**/*.ts`], ignores: TEST_FILES, rules: appBoundary(app) })),
);
