/**
 * The architecture as checks (npm run lint): dependencies point inward, the Prisma client stays in the
 * repositories, the HTTP error handler knows no domain module, CLIs never go through the HTTP layer,
 * the web page takes only types from the server, and nothing imports in a circle.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles hide layering mistakes.', from: {}, to: { circular: true } },
    {
      name: 'prisma-only-in-repositories',
      severity: 'error',
      comment: 'All SQL goes through src/db/repositories; services, routes, ingest and CLIs never touch the Prisma client.',
      from: { path: '^(src|ingest|scripts|bench|web)/', pathNot: '^src/db/' },
      to: { path: ['^src/db/prisma\\.ts$', '^src/db/generated/', '^node_modules/@prisma/'] },
    },
    {
      name: 'error-handler-knows-no-domain',
      severity: 'error',
      comment: 'Errors carry their own status (AppError); the handler renders them without importing where they come from.',
      from: { path: '^src/api/errorHandler\\.ts$' },
      to: { path: '^(ingest|src/(search|models|store|db|images|auth|app|eval))/' },
    },
    {
      name: 'inner-layers-do-not-import-outer',
      severity: 'error',
      comment: 'Services, models, stores, the database and ingest never depend on the HTTP layer or on the wiring.',
      from: { path: '^(src/(search|library|models|store|db|images|auth|observability|util|errors|config)/|ingest/)', pathNot: '^ingest/(cli|textsCli)\\.ts$' },
      to: { path: '^src/(api|app)/' },
    },
    {
      name: 'clis-do-not-import-http',
      severity: 'error',
      comment: 'CLIs are thin entry points over the services.',
      from: { path: '^(ingest/(cli|textsCli)\\.ts|src/cli/|scripts/)' },
      to: { path: '^src/api/' },
    },
    {
      name: 'web-imports-only-types',
      severity: 'error',
      comment: "The page's bundle takes types from the server, never code.",
      from: { path: '^web/' },
      to: { path: '^(src|ingest)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'client-imports-only-types',
      severity: 'error',
      comment:
        "The API client ships to photo products: it takes the server's schemas as types, and code only from the route declarations and the signature helper.",
      from: { path: '^src/client/' },
      to: { path: '^(src|ingest)/', pathNot: '^src/(client/|api/contract/|webhooks/signature\\.ts$)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'store-adapters-only-in-wiring',
      severity: 'error',
      comment: 'Services and routes use the VectorStore port; src/app/services.ts picks the adapter.',
      from: { path: '^(src/(api|search|library|eval)/|ingest/)' },
      to: { path: '^src/store/(hnswStore|qdrantStore)\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
