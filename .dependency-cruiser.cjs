/**
 * The architecture as checks (npm run lint). Every folder of src/ has a layer, and dependencies point inward:
 *
 *   entry points      src/main.ts, src/cli/ (the composition root only through src/cli/services.ts), bench/
 *   composition root  src/app/
 *   HTTP              src/api/ (routes, handlers, ports), src/client/ (the typed client)
 *   services          src/{search,library,duplicates,webhooks,events,ocr,packs,eval,remoteEncoders,stages,autotags}/, ingest/
 *   models, adapters  src/{models,store,images,video,raw,net,db,auth,observability,http}/ (http: what both HTTP servers share)
 *   base              src/{util,errors,config,types}/
 *
 * No carve-outs: a rule that needs one is a layering mistake to fix, not to except.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const SERVICES = 'src/(search|library|duplicates|webhooks|events|ocr|packs|eval|remoteEncoders|stages|autotags)/';
const ADAPTERS = 'src/(models|store|images|video|raw|net|db|auth|observability|http)/';
const BASE = 'src/(util|errors|config|types)/';
const HTTP = 'src/(api|client)/';
const ENTRY = '(src/main\\.ts$|src/cli/)';

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
      name: 'entry-points-are-not-imported',
      severity: 'error',
      comment: 'Nothing depends on a command: main.ts and src/cli/ are where the process starts (bench/ reaches the services through src/cli/services.ts).',
      from: { pathNot: ['^src/cli/', '^bench/'] },
      to: { path: `^${ENTRY}` },
    },
    {
      name: 'composition-root-only-from-entry-points',
      severity: 'error',
      comment: 'src/app/ wires everything: only main.ts and the one CLI door (src/cli/services.ts) start it.',
      from: { path: '^(src|ingest|bench|scripts|web)/', pathNot: ['^src/app/', '^src/main\\.ts$', '^src/cli/services\\.ts$'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'inner-layers-do-not-import-outer',
      severity: 'error',
      comment: 'Services, ingest, models, adapters and the base never depend on the HTTP layer, the wiring or a command.',
      from: { path: [`^${SERVICES}`, '^ingest/', `^${ADAPTERS}`, `^${BASE}`] },
      to: { path: [`^${HTTP}`, '^src/app/', `^${ENTRY}`] },
    },
    {
      name: 'models-and-adapters-do-not-import-services',
      severity: 'error',
      comment: 'Model packs, stores, decoding and the database know nothing of the services built on them.',
      from: { path: `^${ADAPTERS}` },
      to: { path: [`^${SERVICES}`, '^ingest/'] },
    },
    {
      name: 'base-imports-only-base',
      severity: 'error',
      comment: 'Utilities, errors and configuration are the bottom layer.',
      from: { path: `^${BASE}` },
      to: { path: '^(src|ingest)/', pathNot: `^${BASE}` },
    },
    {
      name: 'src-reaches-ingest-through-the-wiring',
      severity: 'error',
      comment: 'ingest/ uses src/; src/ reaches ingest only in the composition root (the API talks to it through its ports).',
      from: { path: '^src/', pathNot: '^src/app/' },
      to: { path: '^ingest/' },
    },
    {
      name: 'no-tools-in-the-product',
      severity: 'error',
      comment: 'The service never imports benchmarks or build scripts; build scripts never import benchmarks.',
      from: { path: '^(src|ingest|scripts)/' },
      to: { path: '^bench/' },
    },
    {
      name: 'product-imports-no-build-scripts',
      severity: 'error',
      comment: 'scripts/ holds build steps (and the generators tests and benchmarks use), never code the service runs.',
      from: { path: '^(src|ingest)/' },
      to: { path: '^scripts/' },
    },
    {
      name: 'http-plumbing-knows-no-domain',
      severity: 'error',
      comment: 'Errors carry their own code (AppError); the shared error handler renders them without importing where they come from.',
      from: { path: '^src/http/' },
      to: { path: '^(src|ingest)/', pathNot: ['^src/http/', '^src/errors/'] },
    },
    {
      name: 'clis-do-not-import-http',
      severity: 'error',
      comment: 'CLIs are thin entry points over the services.',
      from: { path: '^src/cli/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'web-imports-only-types',
      severity: 'error',
      comment: "The page's bundle takes types from the server, and code only from the route declarations and the error catalogue.",
      from: { path: '^web/' },
      to: { path: '^(src|ingest)/', pathNot: ['^src/api/contract/', '^src/api/schemas/', '^src/errors/codes\\.ts$'], dependencyTypesNot: ['type-only'] },
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
      comment: 'Services and routes use the VectorStore port; src/app picks the adapter.',
      from: { path: '^(src|ingest)/', pathNot: ['^src/app/', '^src/store/'] },
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
