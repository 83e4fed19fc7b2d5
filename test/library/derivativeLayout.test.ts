import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DerivativeStore } from '../../src/images/derivativeStore';
import { tempDir } from '../helpers/env';

async function* pages<T>(...p: T[][]): AsyncIterable<T[]> {
  for (const x of p) yield x;
}

describe('derivative files per image', () => {
  test('a data folder from the content-keyed layout moves to per-image files once', async () => {
    const root = await tempDir('deriv');
    const sha = 'ab'.repeat(32);
    for (const kind of ['thumbnail', 'preview']) {
      await mkdir(path.join(root, kind, 'ab'), { recursive: true });
      await writeFile(path.join(root, kind, 'ab', `${sha}.jpg`), `${kind} bytes`);
    }
    const store = new DerivativeStore(root);
    // Two owners' images showed the same bytes: each gets its own file.
    const alice = '11111111-1111-4111-8111-111111111111';
    const bob = '22222222-2222-4222-8222-222222222222';
    expect(await store.migrateFromContentKeys(pages([{ id: alice, sha256: sha }], [{ id: bob, sha256: sha }]))).toBe(4);
    expect((await store.read('preview', alice)).toString()).toBe('preview bytes');
    expect((await store.read('thumbnail', bob)).toString()).toBe('thumbnail bytes');
    expect(existsSync(path.join(root, 'preview', 'ab', `${sha}.jpg`))).toBe(false);

    await store.removeAll(alice);
    expect(store.has('preview', alice)).toBe(false);
    expect((await readFile(store.pathFor('preview', bob))).toString()).toBe('preview bytes');
    expect(await store.migrateFromContentKeys(pages([{ id: alice, sha256: sha }]))).toBe(0);
  });

  test('a fresh data folder needs no move', async () => {
    const store = new DerivativeStore(await tempDir('deriv'));
    expect(await store.migrateFromContentKeys(pages())).toBe(0);
    await store.put('preview', '33333333-3333-4333-8333-333333333333', Buffer.from('new'));
    await store.put('preview', '33333333-3333-4333-8333-333333333333', Buffer.from('newer'));
    expect((await store.read('preview', '33333333-3333-4333-8333-333333333333')).toString()).toBe('newer');
  });
});
