import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_ROUTES } from '../../src/api/contract';
import { tempDir } from '../helpers/env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildWeb } = require('../../scripts/build-web.js') as { buildWeb: (outDir: string) => Promise<void> };

describe('the web page bundle', () => {
  test('carries every route’s method and path, and none of the zod schemas that declare them', async () => {
    const out = await tempDir('web-bundle');
    await buildWeb(out);
    const bundle = readFileSync(path.join(out, 'app.js'), 'utf8');
    const missing = Object.entries(API_ROUTES).filter(([, { method, path: p }]) => !bundle.includes(`{method:"${method}",path:"${p}"}`));
    expect(missing.map(([name]) => name)).toEqual([]);
    // zod's own messages are there when its runtime is bundled (it was 457 of the page's 535 KB).
    expect(/Invalid input|Too small/.test(bundle)).toBe(false);
    expect(bundle.length).toBeLessThan(100_000);
  });
});
