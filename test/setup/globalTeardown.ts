import { rm } from 'node:fs/promises';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as { __pg?: { stop(): Promise<void> } }).__pg;
  await pg?.stop();
  if (process.env.TEST_ROOT && !process.env.KEEP_TEST_ROOT) await rm(process.env.TEST_ROOT, { recursive: true, force: true });
}
