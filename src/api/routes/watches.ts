import { Router } from 'express';
import type { LibraryWatcher } from '../../../ingest/watch/libraryWatcher';
import type { WatchedFolderRow } from '../../db/repositories';
import { AppError } from '../../errors/appError';
import { requireScope } from '../auth';
import { requireContentType } from '../uploads';
import { imageIdSchema, ownerQuerySchema, watchCreateSchema } from '../schemas/requests';

function view(f: WatchedFolderRow) {
  return { ...f, createdAt: f.createdAt.toISOString(), lastScanAt: f.lastScanAt?.toISOString() ?? null };
}

/** Watched library folders on the server's disk: operators only, like folder ingest. */
export function watchRoutes(watcher: LibraryWatcher, list: (owner: string | undefined) => Promise<WatchedFolderRow[]>): Router {
  const r = Router();
  r.use('/watches', requireScope('admin'));

  r.post('/watches', requireContentType('application/json'), async (req, res) => {
    const body = watchCreateSchema.parse(req.body ?? {});
    const { folder, scan } = await watcher.register(body.owner, body.folder, body.albums, body.externalIdPrefix);
    res.status(201).json({ folder: view(folder), scan });
  });

  r.get('/watches', async (req, res) => {
    const { owner } = ownerQuerySchema.parse(req.query);
    res.json({ watches: (await list(owner)).map(view) });
  });

  r.delete('/watches/:id', async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    res.json({ id, deleted: await watcher.unregister(id, undefined) });
  });

  r.post('/watches/:id/rescan', async (req, res) => {
    const id = imageIdSchema.parse(req.params.id);
    const report = await watcher.scanNow(id);
    if (!report) throw new AppError(404, 'not_found', `watched folder ${id} not found`);
    res.json(report);
  });
  return r;
}
