/**
 * npm run texts -- <file> [--owner NAME]
 *
 * Adds texts to the image-to-text corpus. A `.jsonl` file holds {"id"?, "text", "owner"?} per line;
 * any other file one text per line. Without --owner (or a per-line owner) texts are shared.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { textInputSchema } from '../search/textCorpus';
import { runMain } from './runMain';
import { cliConfig, withServices } from './services';

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
  const ids = await withServices(cliConfig(), (services) => services.texts.add(entries));
  console.log(JSON.stringify({ added: ids.length }));
  return 0;
}

if (require.main === module) runMain(main);
