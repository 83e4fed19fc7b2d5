#!/usr/bin/env node
// Bundles the web page (Preact) with esbuild into web/dist, served by Express at "/". No CDN at run time.
const { build } = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const contract = path.join(root, 'src/api/contract/index.ts');

/**
 * The page needs each route's method and path, not the zod schemas that declare its bodies: bundled, those
 * were 457 of the page's 535 KB. So the route declarations are evaluated here, at build time, and the page
 * gets their methods and paths alone, still from the one place routes are declared.
 */
async function routeTable() {
  const bundled = await build({ entryPoints: [contract], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'warning' });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', bundled.outputFiles[0].text)(module, module.exports, require);
  const routes = module.exports.API_ROUTES;
  return Object.fromEntries(Object.entries(routes).map(([name, { method, path: p }]) => [name, { method, path: p }]));
}

const routesOnly = (table) => ({
  name: 'route-table',
  setup(b) {
    b.onResolve({ filter: /\/src\/api\/contract$/ }, (args) =>
      path.resolve(args.resolveDir, args.path) === path.dirname(contract) ? { path: contract, namespace: 'route-table' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'route-table' }, () => ({ contents: `export const API_ROUTES = ${JSON.stringify(table)};`, loader: 'js' }));
  },
});

/** Builds the page into `outDir` (web/dist when run as a script). */
async function buildWeb(outDir) {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'web/src/main.tsx')],
    bundle: true,
    minify: true,
    sourcemap: true,
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outfile: path.join(outDir, 'app.js'),
    logLevel: 'warning',
    plugins: [routesOnly(await routeTable())],
  });
  copyFileSync(path.join(root, 'web/index.html'), path.join(outDir, 'index.html'));
  copyFileSync(path.join(root, 'web/src/app.css'), path.join(outDir, 'app.css'));
}

module.exports = { buildWeb };

if (require.main === module)
  buildWeb(path.join(root, 'web', 'dist')).catch((e) => {
    console.error(e);
    process.exit(1);
  });
