#!/usr/bin/env node
// `prisma generate` (Prisma 7) builds the client with its bundled wasm, but the CLI first
// tries to download the schema-engine binary, which fails offline. Pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that download; generate never runs it.
const { spawnSync } = require('node:child_process');

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const res = spawnSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], { stdio: 'inherit', env });
process.exit(res.status ?? 1);
