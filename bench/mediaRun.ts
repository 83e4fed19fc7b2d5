/**
 * npm run bench:media — videos, near-duplicates (also part of npm run bench), written to
 * bench/media-results.json and bench/media-results.md. Sizes via env: BENCH_DUP_BASES (20), BENCH_DUP_DISTINCT (40).
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHarness } from './harness';
import { benchDuplicates, benchVideo, mediaMarkdown } from './media';

const num = (name: string, def: number) => Number(process.env[name] ?? def);

async function main(): Promise<void> {
  const h = await createHarness();
  try {
    const started = new Date().toISOString();
    const pack = h.packs[0]!;
    const results = {
      video: await benchVideo(h, pack),
      duplicates: await benchDuplicates(h, pack, { bases: num('BENCH_DUP_BASES', 20), distinct: num('BENCH_DUP_DISTINCT', 40) }),
    };
    const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
    await writeFile(
      path.resolve(__dirname, 'media-results.json'),
      `${JSON.stringify({ started, finished: new Date().toISOString(), machine, ...results }, null, 2)}\n`,
    );
    await writeFile(
      path.resolve(__dirname, 'media-results.md'),
      `# Media benchmark\n\n${started}, ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, Node ${machine.node}. Regenerate: \`npm run bench:media\`.\n\n${mediaMarkdown(results)}`,
    );
    console.log(mediaMarkdown(results));
  } finally {
    await h.close();
  }
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
