import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeColourLibrary } from '../helpers/files';
import { colourImage, photoAt } from '../helpers/images';
import { heicFrom } from '../helpers/heic';
import { colourVideo } from '../helpers/video';
import { textImage } from '../../bench/fixtures';
import { ADMIN_KEY, startTestService, type TestService } from '../helpers/service';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');

describe('web page in a real browser', () => {
  let svc: TestService;
  let server: Server;
  let base: string;
  let browser: Browser;
  let library: Map<string, string>;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    svc = await startTestService();
    library = await writeColourLibrary(path.join(svc.inbox, 'colours'));
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('alice', 'colours', ['调色板']));
    // A second library, large enough for more than one page of results.
    await mkdir(path.join(svc.inbox, 'carol'));
    for (let i = 0; i < 30; i++) await writeFile(path.join(svc.inbox, 'carol', `w${i}.png`), await colourImage('white', { seed: 100 + i }));
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('carol', 'carol'));
    // A phone library with a receipt among photos, for search by the words in a picture.
    await mkdir(path.join(svc.inbox, 'dora'));
    await writeFile(path.join(svc.inbox, 'dora', 'receipt.png'), await textImage(['老北京炸酱面馆', '发票金额：128元'], { width: 640, fontSize: 32 }));
    for (const i of [1, 2]) await writeFile(path.join(svc.inbox, 'dora', `white${i}.png`), await colourImage('white', { seed: 70 + i }));
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('dora', 'dora'));
    // A photo taken in Hangzhou, for the place read from a query and shown in the large view.
    await mkdir(path.join(svc.inbox, 'fay'));
    await writeFile(path.join(svc.inbox, 'fay', 'west-lake.jpg'), await photoAt(30.2741, 120.1551, 5, 'purple'));
    await writeFile(path.join(svc.inbox, 'fay', 'home.png'), await colourImage('purple', { seed: 6 }));
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('fay', 'fay'));
    // OCR is its own queue behind ingest: the receipt's words are searchable once it has read them.
    await svc.services.ocr?.idle();
    await svc.services.stages.idle();
    await svc
      .api()
      .post('/v1/admin/texts')
      .send({ texts: [{ text: '一件红色的东西' }, { text: '一件蓝色的东西' }] });
    server = svc.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await svc?.close();
    await svc?.database.drop();
  });

  async function openPage(viewport = { width: 1200, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    await page.goto(base);
    await page.getByLabel('API 密钥').fill(ADMIN_KEY);
    return page;
  }

  const firstHitName = (page: Page) => page.getByTestId('hit').first().locator('img').getAttribute('alt');

  test('a Chinese query shows the expected image first; opening it shows metadata, caption and similar images', async () => {
    const page = await openPage();
    await page.getByRole('searchbox').fill('一朵红色的花');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await firstHitName(page)).toBe('red.png');
    // Thumbnails load through their signed URLs (no API key on <img>).
    await page.waitForFunction('[...document.querySelectorAll(".grid img")].every((i) => i.complete && i.naturalWidth > 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'search-results.png'), fullPage: true });
    // Each tile says how relevant it is; weak matches can be hidden.
    expect(await page.getByTestId('relevance').first().textContent()).toMatch(/^\d{1,3}%$/);
    const all = await page.getByTestId('hit').count();
    await page.getByLabel('隐藏弱相关 Hide weak matches').check();
    const strong = await page.getByTestId('hit').count();
    expect(strong).toBeGreaterThan(0);
    expect(strong).toBeLessThan(all);
    await page.getByLabel('隐藏弱相关 Hide weak matches').uncheck();

    await page.getByTestId('hit').first().click();
    const dialog = page.getByTestId('image-dialog');
    await dialog.waitFor();
    await expect(dialog.getByTestId('meta-source').textContent()).resolves.toBe(library.get('red'));
    await dialog.getByTestId('caption').filter({ hasText: '一件红色的东西' }).waitFor();
    await dialog.getByRole('list', { name: '相似图片' }).getByTestId('hit').nth(6).waitFor();
    expect(await dialog.getByRole('list', { name: '相似图片' }).getByTestId('hit').count()).toBe(7);
    await page.screenshot({ path: path.join(ARTIFACTS, 'image-dialog.png') });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The image pack's tags are in the large view; a click on one searches for it.
    await page.getByTestId('hit').first().click();
    const tags = dialog.getByRole('list', { name: '自动标签 Auto tags' });
    const searched = page.waitForRequest((r) => r.url().endsWith('/v1/search/text') && (r.postData() ?? '').includes('"query":"红色"'));
    await tags.getByRole('button', { name: '红色', exact: true }).click();
    await searched;
    await dialog.waitFor({ state: 'detached' });
    await expect(page.getByRole('searchbox').inputValue()).resolves.toBe('红色');
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await firstHitName(page)).toBe('red.png');
    await page.close();
  });

  test('a word printed on a receipt finds it first; the large view shows its text with the word highlighted', async () => {
    const page = await openPage();
    await page.getByLabel('用户 Owner').fill('dora');
    await page.getByRole('searchbox').fill('发票');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await firstHitName(page)).toBe('receipt.png');
    await page.getByTestId('hit').first().click();
    const lines = page.getByTestId('ocr-lines');
    await lines.locator('mark', { hasText: '发票' }).waitFor();
    expect(await lines.locator('li').allTextContents()).toEqual(['老北京炸酱面馆', '发票金额：128元']);
    expect(await page.getByTestId('match').textContent()).toMatch(/文字 \d/);
    await page.keyboard.press('Escape');
    // Text only: the photos without words are not hits.
    await page.getByLabel('搜索方式 Mode').selectOption('ocr');
    await page.getByRole('searchbox').fill('炸酱面');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '1 张图片' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'ocr-search.png') });
    await page.close();
  });

  test('a banner says the test pack is in use and gives the command that installs the real model', async () => {
    const page = await openPage();
    const banner = page.getByTestId('model-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('npm run models:fetch');
    await page.close();
  });

  test('searching by image: a chosen or a dropped picture finds its colour', async () => {
    const page = await openPage();
    await page.getByTestId('image-query').setInputFiles({ name: 'q.png', mimeType: 'image/png', buffer: await colourImage('green', { seed: 42 }) });
    await page.getByTestId('status').filter({ hasText: '以图搜图' }).waitFor();
    expect(await firstHitName(page)).toBe('green.jpg');

    // A real drop event carrying a file, as a drag from the desktop produces.
    const b64 = (await colourImage('orange', { seed: 43 })).toString('base64');
    const dataTransfer = await page.evaluateHandle(
      `(() => { const dt = new DataTransfer(); const bytes = Uint8Array.from(atob('${b64}'), (c) => c.charCodeAt(0)); dt.items.add(new File([bytes], 'drop.png', { type: 'image/png' })); return dt; })()`,
    );
    await page.getByTestId('status').filter({ hasText: '以图搜图' }).waitFor();
    await page.dispatchEvent('section.search', 'drop', { dataTransfer });
    await page.waitForFunction('document.querySelector(".grid img")?.alt === "orange.png"');
    await page.close();
  });

  test('pages load as you scroll', async () => {
    const page = await openPage({ width: 1200, height: 700 });
    await page.getByLabel('用户 Owner').fill('carol');
    await page.getByRole('searchbox').fill('白色');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await page.getByTestId('hit').count()).toBe(24);
    await page.getByRole('button', { name: '加载更多 Load more' }).scrollIntoViewIfNeeded();
    await page.getByTestId('status').filter({ hasText: '30 张图片' }).waitFor();
    expect(await page.getByTestId('hit').count()).toBe(30);
    await page.getByRole('button', { name: '加载更多 Load more' }).waitFor({ state: 'detached' });
    await page.close();
  });

  test('filters narrow the results; dates and exclusions in the words are read as filters, and the page says how', async () => {
    const page = await openPage();
    await page.getByRole('searchbox').fill('去年夏天的红色 -蓝色');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '拍摄于 去年夏天' }).filter({ hasText: '排除 蓝色' }).waitFor();
    await page.getByLabel('相册 Album').fill('别的相册');
    await page.getByRole('searchbox').fill('红色');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '0 张图片' }).waitFor();
    await page.getByLabel('相册 Album').fill('调色板');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '8 张图片' }).waitFor();
    await page.close();
  });

  test('a place in the query filters by it and the page says so; the large view names the place; the place field suggests the owner’s places', async () => {
    const page = await openPage();
    await page.getByLabel('用户 Owner').fill('fay');
    await page.getByRole('searchbox').fill('杭州的紫色');
    // The owner's places, once the owner field is left.
    await page.locator('#place-names option[value="杭州市"]').waitFor({ state: 'attached' });
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '1 张图片' }).filter({ hasText: '地点 杭州' }).waitFor();
    await page.getByTestId('hit').first().click();
    const dialog = page.getByTestId('image-dialog');
    await dialog.waitFor();
    await expect(dialog.getByTestId('meta-place').textContent()).resolves.toBe('杭州市 · 浙江省 · 中国');
    await page.close();
  });

  test('works at phone width without sideways scrolling', async () => {
    const page = await openPage({ width: 375, height: 740 });
    await page.getByRole('searchbox').fill('蓝色');
    await page.getByRole('searchbox').press('Enter');
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await firstHitName(page)).toBe('blue.webp');
    const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
    );
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone.png'), fullPage: true });
    await page.close();
  });

  test('the admin view starts an ingest and shows its progress to the end', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: '管理 Admin' }).click();
    await page.getByLabel('用户 Owner').fill('bob');
    await page.getByTestId('ingest-files').setInputFiles([
      { name: 'y.png', mimeType: 'image/png', buffer: await colourImage('yellow', { seed: 7 }) },
      { name: 'bad.png', mimeType: 'image/png', buffer: Buffer.from('not an image') },
    ]);
    await page.getByRole('button', { name: '开始导入 Start' }).click();
    await page.getByTestId('job-status').filter({ hasText: 'completed' }).waitFor();
    await expect(page.getByTestId('job-status').textContent()).resolves.toContain('2/2');
    await expect(page.getByTestId('job').textContent()).resolves.toContain('bad.png');
    await page.close();
  });
  test('a video hit shows the matching time and plays from it; a HEIC shows through its JPEG derivatives', async () => {
    // Last, as its library would show in the other tests' unfiltered searches.
    // A phone's media: a video (red, then green) and an iPhone photo (HEIC).
    await mkdir(path.join(svc.inbox, 'erin'));
    await writeFile(
      path.join(svc.inbox, 'erin', 'clip.webm'),
      await colourVideo({
        spans: [
          { colour: 'red', seconds: 4 },
          { colour: 'green', seconds: 4 },
        ],
        codec: 'libvpx',
        container: 'webm',
      }),
    );
    await writeFile(path.join(svc.inbox, 'erin', 'IMG_0001.HEIC'), await heicFrom([await colourImage('yellow', { format: 'jpeg', seed: 8 })]));
    await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('erin', 'erin'));
    const page = await openPage();
    await page.getByLabel('用户 Owner').fill('erin');
    await page.getByRole('searchbox').fill('绿色');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    const range = await page.getByTestId('hit').first().getByTestId('hit-range').textContent();
    expect(range).toMatch(/^▶ 0:0[4-7]–0:0[5-8]$/);
    await page.getByTestId('hit').first().click();
    const player = page.getByTestId('player');
    await player.waitFor();
    await page.waitForFunction('document.querySelector("[data-testid=player]").readyState >= 1');
    const at = await player.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
    expect(at).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: path.join(ARTIFACTS, 'video-hit.png') });
    await page.keyboard.press('Escape');

    await page.getByRole('searchbox').fill('黄色');
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.getByTestId('status').filter({ hasText: '张图片' }).waitFor();
    expect(await firstHitName(page)).toBe('IMG_0001.HEIC');
    await page.waitForFunction('[...document.querySelectorAll(".grid img")].every((i) => i.complete && i.naturalWidth > 0)');
    await page.close();
  });

  test('the duplicates view groups near-identical shots, marks the one to keep and dismisses a group', async () => {
    const page = await openPage();
    await page.getByRole('button', { name: '重复 Duplicates' }).click();
    await page.getByLabel('用户 Owner').fill('carol');
    await page.getByRole('button', { name: '查找重复 Find duplicates' }).click();
    await page.getByTestId('duplicates-status').filter({ hasText: '1 组相似照片' }).waitFor();
    const group = page.getByTestId('duplicate-group');
    // carol's 30 white shots are one burst.
    expect(await group.locator('li').count()).toBe(30);
    expect(await group.locator('li.keep').count()).toBe(1);
    await page.waitForFunction('[...document.querySelectorAll(".duplicates img")].every((i) => i.complete && i.naturalWidth > 0)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'duplicates.png') });
    await group.getByRole('button', { name: '不是重复 Dismiss' }).click();
    await group.waitFor({ state: 'detached' });
    expect((await svc.api().get('/v1/duplicates').query({ owner: 'carol' })).body.groups).toEqual([]);
    await page.close();
  });
});
