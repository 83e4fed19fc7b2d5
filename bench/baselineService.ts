/**
 * Run inside a tree of an earlier commit (bench/searchFeatures.ts extracts it with `git archive`): that
 * commit's own service over the same PostgreSQL rows, with the same vectors put into its own embedded index,
 * listening on loopback. Prints one JSON line, { url, packKey }, once it answers; stops when stdin closes.
 * Uses only APIs that both the earlier commit and this one have.
 */
import { readFile } from 'node:fs/promises';
import { cliConfig, startServices } from '../src/cli/services';
import { createLogger } from '../src/util/logger';
import { listen } from './query';

interface VectorsFile {
  owner: string;
  dim: number;
  ids: string[];
  takenAt: number[];
}

async function main(): Promise<void> {
  const file = process.env.BASELINE_VECTORS;
  if (!file) throw new Error('BASELINE_VECTORS names the vectors to index');
  const meta = JSON.parse(await readFile(`${file}.json`, 'utf8')) as VectorsFile;
  const raw = await readFile(`${file}.f32`);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const s = await startServices(cliConfig(), createLogger('silent'));
  for (let i = 0; i < meta.ids.length; i += 2000) {
    const ids = meta.ids.slice(i, i + 2000);
    await s.images.upsert(
      ids.map((id, k) => ({
        id,
        vector: all.slice((i + k) * meta.dim, (i + k + 1) * meta.dim),
        payload: { owner: meta.owner, albums: [], takenAt: meta.takenAt[i + k]! },
      })),
    );
  }
  const server = await listen(s);
  console.log(JSON.stringify({ url: server.url, packKey: s.pack.key }));
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server
      .close()
      .then(() => s.close())
      .then(() => process.exit(0));
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
