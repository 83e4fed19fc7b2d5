#!/usr/bin/env node
// Bundles the web page (Preact) with esbuild into web/dist, served by Express at "/". No CDN at run time.
const { build } = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'web', 'dist');
mkdirSync(out, { recursive: true });
build({
  entryPoints: [path.join(root, 'web/src/main.tsx')],
  bundle: true,
  minify: true,
  sourcemap: true,
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: path.join(out, 'app.js'),
  logLevel: 'warning',
})
  .then(() => {
    copyFileSync(path.join(root, 'web/index.html'), path.join(out, 'index.html'));
    copyFileSync(path.join(root, 'web/src/app.css'), path.join(out, 'app.css'));
  })
  .catch(() => process.exit(1));
