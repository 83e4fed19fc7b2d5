import { readFileSync, rmSync, writeFileSync } from 'node:fs';

import { processAlive as alive } from '../util/processAlive';

/**
 * One writer per embedded index directory: two processes appending to the same log would
 * corrupt it. A lock left by a dead process is taken over.
 */
export function acquireLock(file: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
        throw new Error(`${file} is held by process ${holder}; stop it, or ingest through its admin API`, { cause: e });
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${file}`);
}
