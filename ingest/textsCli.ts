/**
 * npm run texts -- <file> [--owner NAME]
 *
 * Adds texts to the image-to-text corpus. A `.jsonl` file holds {"id"?, "text", "owner"?} per line;
 * any other file one text per line. Without --owner (or a per-line owner) texts are shared.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { textInputSchema } from '../src/search/textCorpus';
import { startServices } from '../src/app/services';
import { loadConfig } from '../src/config/env';
import { createLogger } from '../src/util/logger';
import { runMain } from '../src/cli/runMain';

export function parseTextFile(name: string, content: string, owner: string | undefined) {
  const lines = content.split(/\r?\n/).filter((l) => l.trim());
  const raw = name.endsWith('.jsonl') ? lines.map((l) => JSON.parse(l) as Record<string, unknown>) : lines.map((text) => ({ text }));
  return z.array(textInputSchema).parse(raw.map((r) => ({ owner, ...r })));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { owner: { type: 'string' } } });
  if (positionals.length !== 1) {
    console.error('usage: npm run texts -- <file.txt|file.jsonl> [--owner NAME]');
    return 2;
  }
  const entries = parseTextFile(positionals[0]!, await readFile(positionals[0]!, 'utf8'), values.owner);
  const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  const services = await startServices(config, createLogger(config.LOG_LEVEL, config.LOG_FORMAT));
  try {
    const ids = await services.texts.add(entries);
    console.log(JSON.stringify({ added: ids.length }));
    return 0;
  } finally {
    await services.close();
  }
}

if (require.main === module) runMain(main);
