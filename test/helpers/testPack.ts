import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir, testEnv } from './env';

/** A manifest as JSON: tests set fields a valid manifest would refuse. */
export type ManifestJson = Record<string, unknown> & { name: string; version: string; image: Record<string, unknown>; text: Record<string, unknown> };

/** A copy of the generated test pack, its manifest changed by `edit` (in place, or the one it returns). */
export async function editedTestPack(edit: (manifest: ManifestJson) => ManifestJson | void): Promise<string> {
  const dir = await tempDir('pack');
  await cp(testEnv('TEST_MODEL_DIR'), dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(file, 'utf8')) as ManifestJson;
  await writeFile(file, JSON.stringify(edit(manifest) ?? manifest));
  return dir;
}
