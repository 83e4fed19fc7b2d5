import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/**
 * In a process of its own, so that no other test starts threads meanwhile: the threads each session adds are
 * onnxruntime's intra-op pool (the calling thread is one of its threads).
 */
const SCRIPT = `
const { readdirSync } = require('node:fs');
const { readFile } = require('node:fs/promises');
const { createSession } = require(${JSON.stringify(path.resolve(__dirname, '../../src/models/onnxSession.ts'))});
const { bundledOcrModelDir } = require(${JSON.stringify(path.resolve(__dirname, '../../src/ocr/ppOcr.ts'))});
const threads = () => readdirSync('/proc/self/task').length;
const model = require('node:path').join(bundledOcrModelDir(), 'ch_PP-OCRv4_det_infer.onnx');
(async () => {
  // libuv's pool starts on the first file read: before counting.
  await readFile(model);
  const added = {};
  for (const n of [1, 0, 2]) {
    const before = threads();
    const session = await createSession(model, { intraOpThreads: n, interOpThreads: 1 });
    added[n] = threads() - before;
    await session.release();
  }
  console.log(JSON.stringify(added));
})();
`;

describe('onnxruntime sessions use the cores asked for', () => {
  test('0 intra-op threads is one thread per core, as the configuration says', () => {
    const added = JSON.parse(execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', SCRIPT], { encoding: 'utf8' })) as Record<string, number>;
    // One thread runs on the caller; the pool adds the rest.
    expect(added['0']! - added['1']!).toBe(availableParallelism() - 1);
    expect(added['2']! - added['1']!).toBe(1);
  });
});
