import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

async function cruise(cwd: string, dirs: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(DEPCRUISE, ['--config', '.dependency-cruiser.cjs', ...dirs], { cwd });
    return { code: 0, output: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, output: err.stdout };
  }
}

/** The layer rules hold on the project, and each one fails on a deliberately wrong import. */
describe('architecture rules (dependency-cruiser)', () => {
  test('the project has no violations', async () => {
    const { code, output } = await cruise(ROOT, ['src', 'ingest', 'scripts', 'bench', 'web']);
    expect(output).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  }, 60_000);

  test('wrong imports are caught, each by its rule', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'layers-'));
    await copyFile(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
    const files: Record<string, string> = {
      'src/db/prisma.ts': 'export const createDb = () => ({});\n',
      'src/db/repositories/images.ts': "import { createDb } from '../prisma';\nexport const images = createDb();\n",
      'src/search/leaky.ts': "import { createDb } from '../db/prisma';\nexport const db = createDb();\n",
      'src/api/app.ts': 'export const app = 1;\n',
      'src/app/services.ts': 'export const services = 1;\n',
      'src/http/errorHandler.ts': "import { db } from '../search/leaky';\nexport const handler = db;\n",
      'src/models/usesHttp.ts': "import { app } from '../api/app';\nexport const m = app;\n",
      'src/models/usesSearch.ts': "import { db } from '../search/leaky';\nexport const m = db;\n",
      'src/util/usesModels.ts': "import { m } from '../models/usesHttp';\nexport const u = m;\n",
      'src/search/usesIngest.ts': "import { job } from '../../ingest/job';\nexport const s = job;\n",
      'src/search/usesWiring.ts': "import { services } from '../app/services';\nexport const s = services;\n",
      'src/search/usesBench.ts': "import { bench } from '../../bench/run';\nexport const s = bench;\n",
      'src/cli/tool.ts': "import { app } from '../api/app';\nexport const cli = app;\n",
      'ingest/job.ts': 'export const job = 1;\n',
      'bench/run.ts': 'export const bench = 1;\n',
      'web/src/page.ts':
        "import { app } from '../../src/api/app';\nimport type { db } from '../../src/search/leaky';\nexport const page: typeof db | number = app;\n",
      'src/util/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'src/util/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    };
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), content);
    }
    const { code, output } = await cruise(dir, ['src', 'ingest', 'web', 'bench']);
    expect(code).toBeGreaterThan(0);
    expect(output).toMatch(/prisma-only-in-repositories: src\/search\/leaky\.ts → src\/db\/prisma\.ts/);
    expect(output).toMatch(/http-plumbing-knows-no-domain: src\/http\/errorHandler\.ts → src\/search\/leaky\.ts/);
    expect(output).toMatch(/inner-layers-do-not-import-outer: src\/models\/usesHttp\.ts → src\/api\/app\.ts/);
    expect(output).toMatch(/models-and-adapters-do-not-import-services: src\/models\/usesSearch\.ts → src\/search\/leaky\.ts/);
    expect(output).toMatch(/base-imports-only-base: src\/util\/usesModels\.ts → src\/models\/usesHttp\.ts/);
    expect(output).toMatch(/src-reaches-ingest-through-the-wiring: src\/search\/usesIngest\.ts → ingest\/job\.ts/);
    expect(output).toMatch(/composition-root-only-from-entry-points: src\/search\/usesWiring\.ts → src\/app\/services\.ts/);
    expect(output).toMatch(/no-tools-in-the-product: src\/search\/usesBench\.ts → bench\/run\.ts/);
    expect(output).toMatch(/clis-do-not-import-http: src\/cli\/tool\.ts → src\/api\/app\.ts/);
    expect(output).toMatch(/web-imports-only-types: web\/src\/page\.ts → src\/api\/app\.ts/);
    expect(output).not.toMatch(/web-imports-only-types: web\/src\/page\.ts → src\/search\/leaky\.ts/);
    expect(output).toMatch(/no-circular/);
    expect(output).not.toMatch(/src\/db\/repositories\/images\.ts → src\/db\/prisma\.ts/);
  }, 60_000);
});
