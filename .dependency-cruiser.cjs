/** Dependency direction, as STYLE.md sets it. `npm run lint` runs this; a violation fails CI. */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'adapters-only-ports-errors-shared',
      comment: 'Adapters see the core only through src/ports and src/errors.',
      severity: 'error',
      from: { path: '^adapters/' },
      to: { path: '^(src|config)/', pathNot: ['^src/ports/', '^src/errors\\.ts$'] },
    },
    {
      name: 'registry-only-in-main',
      comment: 'Only the composition root chooses adapters.',
      severity: 'error',
      from: { path: '^(src|config)/', pathNot: ['^src/main\\.ts$', '^src/cli\\.ts$', '^src/cli/'] },
      to: { path: '^adapters/index\\.ts$' },
    },
    {
      name: 'http-no-infrastructure',
      comment: 'Routes call services; they never talk to PostgreSQL, Redis or the network themselves.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: {
        path: [
          'node_modules/(pg|ioredis|bullmq|undici|@electric-sql/pglite|drizzle-orm)/',
          '^src/store/',
          '^src/queue/',
        ],
      },
    },
    {
      name: 'services-through-ports',
      comment:
        'Services see stores, queues, circuits and their drivers only through src/ports; main.ts wires the implementations.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: {
        path: ['node_modules/(pg|ioredis|bullmq|@electric-sql/pglite|drizzle-orm)/', '^src/store/', '^src/queue/'],
      },
    },
    {
      name: 'domain-is-pure',
      comment: 'src/domain is pure logic: no I/O modules, no other layers.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        path: [
          'node_modules/(pg|ioredis|bullmq|undici|@electric-sql/pglite|drizzle-orm|pino)/',
          '^(fs|net|http|https|child_process|dgram|dns|tls)$',
          '^node:(fs|net|http|https|child_process|dgram|dns|tls)',
          '^src/(store|queue|http|services|security)/',
          '^adapters/',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
