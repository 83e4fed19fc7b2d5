import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SessionHost } from '../../src/models/sessionHost';
import { testEnv } from '../helpers/env';
import { threadNices } from '../helpers/proc';

describe('session host: ONNX sessions on a worker thread', () => {
  const dir = testEnv('TEST_MODEL_DIR');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { image: { file: string; input: string; size: number } };

  test('runs a session off the main thread, with the same result as in-thread', async () => {
    const file = path.join(dir, manifest.image.file);
    const host = await SessionHost.open([file], { intraOpThreads: 1, interOpThreads: 1 });
    const local = await ort.InferenceSession.create(file);
    try {
      const { size, input } = manifest.image;
      const pixels = Float32Array.from({ length: 2 * 3 * size * size }, (_, i) => Math.sin(i));
      const feeds = () => ({ [input]: new ort.Tensor('float32', pixels.slice(), [2, 3, size, size]) });
      const [remote, here] = await Promise.all([host.sessions[0]!.run(feeds()), local.run(feeds())]);
      const name = local.outputNames[0]!;
      expect(host.sessions[0]!.outputNames).toEqual(local.outputNames);
      expect(remote[name]!.dims).toEqual(here[name]!.dims);
      expect(Array.from(remote[name]!.data as Float32Array)).toEqual(Array.from(here[name]!.data as Float32Array));
      await expect(host.sessions[0]!.run({ wrong: new ort.Tensor('float32', new Float32Array(1), [1]) })).rejects.toThrow(/input/i);
    } finally {
      await host.close();
      await local.release();
    }
  });

  test('execution providers are tried in order: cuda,cpu loads where no CUDA library is installed', async () => {
    const host = await SessionHost.open([path.join(dir, manifest.image.file)], { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cuda', 'cpu'] });
    try {
      const { size, input } = manifest.image;
      const out = await host.sessions[0]!.run({ [input]: new ort.Tensor('float32', new Float32Array(3 * size * size), [1, 3, size, size]) });
      expect(Object.keys(out)).toEqual(host.sessions[0]!.outputNames);
    } finally {
      await host.close();
    }
  });

  test('background hosts run their threads, onnxruntime pool included, at the nice value asked for', async () => {
    const before = new Set(threadNices().keys());
    const host = await SessionHost.open([path.join(dir, manifest.image.file)], { intraOpThreads: 2, interOpThreads: 1, nice: 15 });
    try {
      expect(host.niced).toBe(true);
      const added = [...threadNices()].filter(([tid]) => !before.has(tid));
      // The worker thread and onnxruntime's intra-op thread it created.
      expect(added.filter(([, nice]) => nice === 15).length).toBeGreaterThanOrEqual(2);
      expect(threadNices().get(process.pid)).toBe(0);
    } finally {
      await host.close();
    }
  });
});
