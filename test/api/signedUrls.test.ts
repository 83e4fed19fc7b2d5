import { UrlSigner } from '../../src/api/signedUrls';
import { writeColourLibrary } from '../helpers/files';
import { startTestService } from '../helpers/service';

describe('signed image URLs', () => {
  const signer = new UrlSigner(Buffer.alloc(32, 7), 3600);

  test('verify what was signed, until it expires; nothing else', () => {
    const now = Date.UTC(2026, 0, 1, 12, 30);
    const url = new URL(signer.sign('/v1/images/x/thumbnail', now), 'http://h');
    const [exp, sig] = [url.searchParams.get('exp'), url.searchParams.get('sig')];
    expect(signer.verify('/v1/images/x/thumbnail', exp, sig, now)).toBe(true);
    expect(signer.verify('/v1/images/y/thumbnail', exp, sig, now)).toBe(false);
    expect(signer.verify('/v1/images/x/preview', exp, sig, now)).toBe(false);
    expect(signer.verify('/v1/images/x/thumbnail', String(Number(exp) + 3600), sig, now)).toBe(false);
    expect(signer.verify('/v1/images/x/thumbnail', exp, `${sig}x`, now)).toBe(false);
    expect(signer.verify('/v1/images/x/thumbnail', exp, sig, Number(exp) * 1000 + 1)).toBe(false);
    expect(signer.verify('/v1/images/x/thumbnail', undefined, sig, now)).toBe(false);
    // Stable within a window, so browsers can cache the URL.
    expect(signer.sign('/p', now)).toBe(signer.sign('/p', now + 60_000));
  });

  test('hits carry URLs that load without a key; a tampered URL is refused', async () => {
    const svc = await startTestService();
    try {
      await writeColourLibrary(svc.inbox);
      await svc.services.ingest.runJob(await svc.services.ingest.createFolderJob('alice', '.'));
      const [hit] = (await svc.api().post('/v1/search/text').send({ query: '红', limit: 1 })).body.hits as {
        id: string;
        thumbnailUrl: string;
        previewUrl: string;
      }[];
      for (const url of [hit!.thumbnailUrl, hit!.previewUrl]) {
        const res = await svc.api(null).get(url);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('image/jpeg');
      }
      const other = (await svc.services.db.image.findFirstOrThrow({ where: { id: { not: hit!.id } } })).id;
      expect((await svc.api(null).get(hit!.thumbnailUrl.replace(hit!.id, other))).status).toBe(403);
      expect((await svc.api(null).get(hit!.thumbnailUrl.replace('/thumbnail', '/preview'))).status).toBe(403);
      expect((await svc.api(null).get(`/v1/images/${hit!.id}/thumbnail`)).status).toBe(401);
    } finally {
      await svc.close();
      await svc.database.drop();
    }
  });
});
