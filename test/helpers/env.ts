import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';

export function testEnv(name: 'TEST_ROOT' | 'TEST_PG_URL' | 'TEST_MODEL_DIR' | 'TEST_CAPTIONER_DIR'): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is unset: run the tests through jest (globalSetup sets it)`);
  return v;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(testEnv('TEST_ROOT'), `${prefix}-`));
}
