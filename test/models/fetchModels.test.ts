import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fetchChineseClip } from '../../scripts/fetch-models';
import { loadManifest, verifyPackFiles } from '../../src/models/manifest';
import { tempDir } from '../helpers/env';

describe('models:fetch from a local source', () => {
  test('copies the files and writes a manifest whose checksums verify', async () => {
    const source = await tempDir('src');
    for (const f of ['vit-b-16.img.fp32.onnx', 'vit-b-16.txt.fp32.onnx', 'vocab.txt']) await writeFile(path.join(source, f), `content of ${f}`);
    const outDir = await tempDir('out');
    const manifest = await fetchChineseClip({ outDir, source, vocabRepo: 'unused', revision: 'main' });
    expect(manifest).toMatchObject({ name: 'chinese-clip-vit-b-16', embeddingDim: 512, image: { input: 'image', size: 224 }, text: { inputs: { ids: 'text' }, maxLength: 52 } });
    const loaded = await loadManifest(outDir);
    await expect(verifyPackFiles(outDir, loaded)).resolves.toBeUndefined();
  });

  test('a source missing a file, or no source at all, is a clear error', async () => {
    const source = await tempDir('src');
    await expect(fetchChineseClip({ outDir: await tempDir('out'), source, vocabRepo: 'x', revision: 'main' })).rejects.toThrow(/has no vit-b-16.img.fp32.onnx/);
    await expect(fetchChineseClip({ outDir: await tempDir('out'), vocabRepo: 'x', revision: 'main' })).rejects.toThrow(/MODELS_SOURCE/);
  });
});
