import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runEvaluation } from '../../src/cli/eval';
import { COLOURS } from '../../scripts/test-pack/concepts';
import { DatasetError, loadDataset } from '../../src/eval/datasets';
import type { PackEvaluation } from '../../src/eval/runEval';
import { tempDir, testEnv } from '../helpers/env';
import { colourImage } from '../helpers/images';
import { editedTestPack } from '../helpers/testPack';

/** Two shades of every test colour and one caption per colour naming it: a dataset the test pack can answer. */
async function chineseClipFormat(dir: string): Promise<void> {
  const imgs: string[] = [];
  const texts: string[] = [];
  for (const [k, c] of COLOURS.entries()) {
    for (const shade of [0, 1]) imgs.push(`${k * 10 + shade}\t${(await colourImage(c.key, { seed: shade + 1, format: 'jpeg' })).toString('base64')}`);
    texts.push(JSON.stringify({ text_id: k, text: `一张${c.words[0]}色的照片`, image_ids: [k * 10, k * 10 + 1] }));
  }
  await writeFile(path.join(dir, 'valid_imgs.tsv'), `${imgs.join('\n')}\n`);
  await writeFile(path.join(dir, 'valid_texts.jsonl'), `${texts.join('\n')}\n`);
}

describe('npm run eval', () => {
  test('recall through the service equals exact recall on a generated dataset, for two packs in one run', async () => {
    const dataset = await tempDir('eval-data');
    await chineseClipFormat(dataset);
    const packV2 = await editedTestPack((m) => ({ ...m, version: '2' }));
    const out = await tempDir('eval-out');
    process.env.LOG_LEVEL = 'silent';

    const results = await runEvaluation(dataset, { packs: [testEnv('TEST_MODEL_DIR'), packV2], out, log: () => undefined });
    expect(results.map((r) => r.pack)).toEqual(['test-pack@1', 'test-pack@2']);
    for (const r of results) {
      expect(r).toMatchObject({ images: 16, texts: 8 });
      expect(r.pipeline).toEqual(r.exact);
      // The test pack knows its colours: every caption finds its images in the top 5.
      expect(r.exact.textToImage.r5).toBe(1);
      expect(r.exact.imageToText.r1).toBe(1);
    }
    const written = JSON.parse(await readFile(path.join(out, 'eval-results.json'), 'utf8')) as PackEvaluation[];
    expect(written).toHaveLength(2);
    const md = await readFile(path.join(out, 'eval-results.md'), 'utf8');
    expect(md).toContain('| test-pack@2 | pipeline |');
  }, 120_000);

  test('--texts-in traditional: a pack that reads traditional text as simplified keeps its recall, one that reads it as typed loses it', async () => {
    const dataset = await tempDir('eval-data');
    await chineseClipFormat(dataset);
    const asTyped = await editedTestPack((m) => {
      delete m.text.script;
      return { ...m, version: 'as-typed' };
    });
    process.env.LOG_LEVEL = 'silent';

    const [converting, typed] = await runEvaluation(dataset, {
      packs: [testEnv('TEST_MODEL_DIR'), asTyped],
      textsIn: 'traditional',
      out: await tempDir('eval-out'),
      log: () => undefined,
    });
    expect(converting!.dataset).toMatch(/texts in traditional$/);
    expect(converting!.exact.textToImage.r5).toBe(1);
    // 紅 綠 藍 黃 are unknown to the test vocabulary: half the captions lose their colour.
    expect(typed!.exact.textToImage.r1).toBeLessThan(converting!.exact.textToImage.r1);
  }, 120_000);

  test('a folder with captions.jsonl, and clear errors for broken datasets', async () => {
    const dir = await tempDir('eval-folder');
    await mkdir(path.join(dir, 'img'));
    await writeFile(path.join(dir, 'img', 'red.png'), await colourImage('red'));
    await writeFile(
      path.join(dir, 'captions.jsonl'),
      `${JSON.stringify({ image: 'img/red.png', text: '红色' })}\n${JSON.stringify({ image: 'img/red.png', text: '一朵红花' })}\n`,
    );
    const ds = await loadDataset(dir);
    expect(ds.images.map((i) => i.id)).toEqual(['img/red.png']);
    expect(ds.texts.map((t) => t.imageIds)).toEqual([['img/red.png'], ['img/red.png']]);

    await writeFile(path.join(dir, 'captions.jsonl'), `${JSON.stringify({ image: 'img/none.png', text: 'x' })}\n`);
    await expect(loadDataset(dir)).rejects.toThrow(/image img\/none\.png not found/);
    await writeFile(path.join(dir, 'captions.jsonl'), '{"image": "img/red.png"}\n');
    await expect(loadDataset(dir)).rejects.toThrow(DatasetError);
    await expect(loadDataset(await tempDir('empty'))).rejects.toThrow(/neither Chinese-CLIP's format/);
  });
});
