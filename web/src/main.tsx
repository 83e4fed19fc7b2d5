import { render, type JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  dismissDuplicates,
  listDuplicates,
  type DuplicatePage,
  getCaption,
  getImage,
  modelStatus,
  getKey,
  jobStatus,
  searchByUpload,
  searchSimilar,
  searchText,
  setKey,
  startIngest,
  type Filters,
  type Hit,
  type ImageDetail,
  type JobStatus,
  type SearchMode,
} from './api';

const fileName = (source: string) => source.split(/[\\/]/).pop() ?? source;
const message = (e: unknown) => (e instanceof ApiError && e.status === 401 ? '需要有效的 API 密钥 (API key required)' : (e as Error).message);

function KeyField() {
  const [key, setValue] = useState(getKey());
  return (
    <label class="key">
      API 密钥
      <input
        type="password"
        autocomplete="off"
        value={key}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setValue(v);
          setKey(v);
        }}
        placeholder="isk_… / admin key"
      />
    </label>
  );
}

function FiltersForm({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const field = (name: keyof Filters, label: string, type = 'text') => (
    <label>
      {label}
      <input name={name} type={type} value={filters[name] ?? ''} onChange={(e) => onChange({ ...filters, [name]: (e.target as HTMLInputElement).value })} />
    </label>
  );
  return (
    <fieldset class="filters">
      <legend>筛选 Filters</legend>
      {field('owner', '用户 Owner')}
      {field('album', '相册 Album')}
      {field('takenFrom', '从 From', 'date')}
      {field('takenTo', '到 To', 'date')}
    </fieldset>
  );
}

/** 0:04, 1:02:03 */
function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return `${h ? `${h}:${String(m).padStart(2, '0')}` : m}:${String(sec).padStart(2, '0')}`;
}

function Grid({ hits, onOpen, label }: { hits: Hit[]; onOpen: (h: Hit) => void; label: string }) {
  return (
    <ul class="grid" aria-label={label}>
      {hits.map((h) => (
        <li key={h.id}>
          <button type="button" class="tile" onClick={() => onOpen(h)} data-testid="hit">
            <img src={h.thumbnailUrl} alt={fileName(h.source)} loading="lazy" />
            <span class="score">{h.score.toFixed(3)}</span>
            {h.segment && (
              <span class="when" data-testid="hit-range">
                ▶ {clock(h.segment.startMs)}–{clock(h.segment.endMs)}
              </span>
            )}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The movie of a video or Live Photo hit, playing from the stretch that matched; the other stretches seek it. */
function Player({ hit }: { hit: Hit }) {
  const video = useRef<HTMLVideoElement>(null);
  const seek = (ms: number) => {
    if (!video.current) return;
    video.current.currentTime = ms / 1000;
    void video.current.play().catch(() => undefined);
  };
  const start = hit.segment?.startMs ?? 0;
  return (
    <>
      <video
        ref={video}
        class="preview"
        src={hit.videoUrl}
        poster={hit.previewUrl}
        controls
        muted
        playsInline
        data-testid="player"
        onLoadedMetadata={() => seek(start)}
      />
      {hit.segment && (
        <p class="segments" data-testid="segments">
          {[hit.segment, ...(hit.otherSegments ?? [])]
            .sort((a, b) => a.startMs - b.startMs)
            .map((s) => (
              <button type="button" key={s.index} onClick={() => seek(s.startMs)} class={s.index === hit.segment?.index ? 'best' : ''}>
                {clock(s.startMs)}–{clock(s.endMs)}
              </button>
            ))}
        </p>
      )}
    </>
  );
}

/** A line with the given [start, end) ranges wrapped in <mark>. */
function Highlighted({ text, ranges }: { text: string; ranges: readonly (readonly [number, number])[] }) {
  const parts: (string | JSX.Element)[] = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start > at) parts.push(text.slice(at, start));
    parts.push(<mark key={start}>{text.slice(start, end)}</mark>);
    at = end;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

/** The text OCR read in the photo; the line the search matched has its words highlighted. */
function OcrLines({ detail, hit }: { detail: ImageDetail | null; hit: Hit }) {
  if (!detail) return null;
  const { text } = detail;
  const matched = hit.match?.matchedText;
  return (
    <section class="ocr" data-testid="ocr-lines">
      <h3>图中文字 Text in the photo</h3>
      {text.state === 'failed' && <p class="hint">文字识别失败：{text.error}</p>}
      {text.state === 'pending' && <p class="hint">文字识别中…</p>}
      {text.state === null && <p class="hint">导入时未识别文字 (OCR was off)</p>}
      {text.state === 'done' && text.lines.length === 0 && <p class="hint">未发现文字 No text</p>}
      <ol>
        {text.lines.map((l, i) => (
          <li key={i}>{l.text === matched ? <Highlighted text={l.text} ranges={hit.match?.highlights ?? []} /> : l.text}</li>
        ))}
      </ol>
    </section>
  );
}

function ImageDialog({ hit, filters, onClose, onOpen }: { hit: Hit; filters: Filters; onClose: () => void; onOpen: (h: Hit) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [similar, setSimilar] = useState<Hit[]>([]);
  const [caption, setCaption] = useState<string>('');
  const [detail, setDetail] = useState<ImageDetail | null>(null);
  useEffect(() => {
    ref.current?.showModal();
    setSimilar([]);
    setCaption('');
    // Similar images from the same library as the one opened.
    searchSimilar(hit.id, { ...filters, owner: hit.owner }, 8, hit.segment?.index).then(
      (p) => setSimilar(p.hits),
      () => setSimilar([]),
    );
    getCaption(hit.id).then(
      (c) => setCaption(c.caption ? c.caption.text : `（${'captionError' in c ? c.captionError : '无说明'}）`),
      () => setCaption(''),
    );
    setDetail(null);
    getImage(hit.id).then(setDetail, () => setDetail(null));
  }, [hit.id]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="dialog-title" data-testid="image-dialog">
      <form method="dialog" class="close">
        <button aria-label="关闭 Close">×</button>
      </form>
      <h2 id="dialog-title">{fileName(hit.source)}</h2>
      {hit.videoUrl ? <Player hit={hit} /> : <img class="preview" src={hit.previewUrl} alt={fileName(hit.source)} />}
      <p class="caption" data-testid="caption">
        {caption}
      </p>
      <dl class="meta">
        <dt>来源 Source</dt>
        <dd data-testid="meta-source">{hit.source}</dd>
        <dt>尺寸 Size</dt>
        <dd>
          {hit.width}×{hit.height}, {(hit.bytes / 1024).toFixed(0)} KB, {hit.mime}
          {hit.durationMs !== null && `, ${clock(hit.durationMs)}${hit.videoCodec ? ` ${hit.videoCodec}` : ''}`}
        </dd>
        <dt>相册 Albums</dt>
        <dd>{hit.albums.join('、') || '—'}</dd>
        <dt>拍摄 Taken</dt>
        <dd>{hit.takenAt ?? '—'}</dd>
        <dt>用户 Owner</dt>
        <dd>{hit.owner}</dd>
        <dt>相似度 Score</dt>
        <dd>{hit.score.toFixed(4)}</dd>
        {hit.match && (
          <>
            <dt>匹配 Match</dt>
            <dd data-testid="match">
              语义 {hit.match.semanticScore?.toFixed(3) ?? '—'} · 文字 {hit.match.textScore?.toFixed(3) ?? '—'}
            </dd>
          </>
        )}
      </dl>
      {hit.mediaType === 'image' && <OcrLines detail={detail} hit={hit} />}
      <h3>相似图片 Similar images</h3>
      <Grid hits={similar} onOpen={onOpen} label="相似图片" />
    </dialog>
  );
}

function SearchView() {
  const [query, setQuery] = useState('');
  const [filters, setFilters] = useState<Filters>({});
  const [hits, setHits] = useState<Hit[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Hit | null>(null);
  const [dragging, setDragging] = useState(false);
  const [mode, setMode] = useState<SearchMode | ''>('');
  const sentinel = useRef<HTMLDivElement>(null);
  const lastQuery = useRef('');

  const run = async (more: boolean) => {
    if (busy || (!more && !query.trim())) return;
    setBusy(true);
    // A new search says so at once: the count of the one before must not stand for its result.
    if (!more) setStatus('搜索中…');
    try {
      const page = await searchText(query, filters, more ? cursor : null, mode);
      lastQuery.current = query;
      setHits(more ? [...hits, ...page.hits] : page.hits);
      setCursor(page.nextCursor);
      setStatus(`${more ? hits.length + page.hits.length : page.hits.length} 张图片 (${page.tookMs} ms)`);
    } catch (e) {
      setStatus(message(e));
    } finally {
      setBusy(false);
    }
  };

  const byImage = async (file: File) => {
    setBusy(true);
    try {
      const page = await searchByUpload(file, filters);
      setHits(page.hits);
      setCursor(null);
      setStatus(`以图搜图：${page.hits.length} 张图片`);
    } catch (e) {
      setStatus(message(e));
    } finally {
      setBusy(false);
    }
  };

  // Infinite scroll: load the next page when the end of the grid comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor) return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void run(true));
    io.observe(el);
    return () => io.disconnect();
  }, [cursor, hits.length, busy]);

  return (
    <section
      class={dragging ? 'search dragging' : 'search'}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const f = e.dataTransfer?.files[0];
        if (f) void byImage(f);
      }}
    >
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void run(false);
        }}
      >
        <label for="q" class="visually-hidden">
          搜索图片
        </label>
        <input
          id="q"
          type="search"
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          placeholder="用中文描述图片，例如：海边的日落"
        />
        <label class="mode">
          方式
          <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as SearchMode | '')} aria-label="搜索方式 Mode">
            <option value="">默认 Default</option>
            <option value="hybrid">语义+文字 Hybrid</option>
            <option value="semantic">语义 Meaning</option>
            <option value="ocr">图中文字 Text</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          搜索
        </button>
        <label class="upload">
          以图搜图
          <input
            type="file"
            accept="image/*,.heic,.heif"
            data-testid="image-query"
            onChange={(e) => {
              const f = (e.target as HTMLInputElement).files?.[0];
              if (f) void byImage(f);
            }}
          />
        </label>
      </form>
      <FiltersForm filters={filters} onChange={setFilters} />
      <p class="hint">也可以把图片拖到这里搜索相似图片 (drop an image here)</p>
      <p role="status" aria-live="polite" data-testid="status">
        {status}
      </p>
      <Grid hits={hits} onOpen={setOpen} label="搜索结果" />
      {cursor && (
        <div ref={sentinel} class="more">
          <button type="button" onClick={() => void run(true)} disabled={busy}>
            加载更多 Load more
          </button>
        </div>
      )}
      {open && <ImageDialog hit={open} filters={filters} onClose={() => setOpen(null)} onOpen={setOpen} />}
    </section>
  );
}

function AdminView() {
  const [owner, setOwner] = useState('');
  const [albums, setAlbums] = useState('');
  const [folder, setFolder] = useState('');
  const [urls, setUrls] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const albumList = albums
        .split(/[,，]/)
        .map((a) => a.trim())
        .filter(Boolean);
      const urlList = urls.split(/\s+/).filter(Boolean);
      const { jobId } = await startIngest({ owner, albums: albumList, ...(files.length ? { files } : urlList.length ? { urls: urlList } : { folder }) });
      const poll = async () => {
        const s = await jobStatus(jobId);
        setJob(s);
        if (s.state === 'queued' || s.state === 'running') setTimeout(() => void poll(), 500);
      };
      await poll();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section class="admin">
      <h2>导入图片 Ingest</h2>
      <form onSubmit={submit}>
        <label>
          用户 Owner
          <input value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          相册 Albums（逗号分隔）
          <input value={albums} onInput={(e) => setAlbums((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          服务器文件夹 Folder
          <input value={folder} onInput={(e) => setFolder((e.target as HTMLInputElement).value)} placeholder="相对于 INGEST_ROOTS" />
        </label>
        <label>
          网址 URLs（每行一个）
          <textarea value={urls} onInput={(e) => setUrls((e.target as HTMLTextAreaElement).value)} />
        </label>
        <label>
          上传文件 Files
          <input
            type="file"
            multiple
            accept="image/*,.heic,.heif"
            data-testid="ingest-files"
            onChange={(e) => setFiles([...((e.target as HTMLInputElement).files ?? [])])}
          />
        </label>
        <button type="submit">开始导入 Start</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {job && (
        <div class="job" data-testid="job">
          <progress max={job.total || 1} value={job.done + job.skipped + job.failed} aria-label="导入进度" />
          <p data-testid="job-status">
            {job.state}: {job.done + job.skipped + job.failed}/{job.total}（完成 {job.done}，跳过 {job.skipped}，失败 {job.failed}）
          </p>
          {job.errors.length > 0 && (
            <ul class="errors">
              {job.errors.map((e) => (
                <li key={e.source}>
                  {e.source}: {e.error}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

/** One owner's near-duplicates: each group's members, the one to keep marked, and a button to dismiss it. */
function DuplicatesView() {
  const [owner, setOwner] = useState('');
  const [groups, setGroups] = useState<DuplicatePage['groups']>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const load = async (more: boolean) => {
    if (!owner.trim()) return;
    try {
      const page = await listDuplicates(owner.trim(), more ? cursor : null);
      const all = more ? [...groups, ...page.groups] : page.groups;
      setGroups(all);
      setCursor(page.nextCursor);
      setStatus(`${all.length} 组相似照片`);
    } catch (e) {
      setStatus(message(e));
    }
  };
  const dismiss = async (id: string) => {
    try {
      await dismissDuplicates(owner.trim(), id);
      setGroups(groups.filter((g) => g.id !== id));
    } catch (e) {
      setStatus(message(e));
    }
  };
  return (
    <section class="duplicates">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void load(false);
        }}
      >
        <label>
          用户 Owner
          <input value={owner} onInput={(e) => setOwner((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">查找重复 Find duplicates</button>
      </form>
      <p data-testid="duplicates-status">{status}</p>
      {groups.map((g) => (
        <div class="group" key={g.id} data-testid="duplicate-group">
          <ul class="grid">
            {g.members.map((m) => (
              <li key={`${m.image.id}-${m.segment ?? ''}`} class={m.image.id === g.suggestedKeep ? 'keep' : ''}>
                <img src={m.thumbnailUrl} alt={fileName(m.image.source)} loading="lazy" />
                <span class="score">
                  {m.image.id === g.suggestedKeep ? '保留 Keep · ' : ''}
                  {m.image.width}×{m.image.height}
                  {m.segment !== null ? ` · #${m.segment}` : ''}
                </span>
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => void dismiss(g.id)}>
            不是重复 Dismiss
          </button>
        </div>
      ))}
      {cursor && (
        <button type="button" onClick={() => void load(true)}>
          更多 More
        </button>
      )}
    </section>
  );
}

/** Loud when the service runs the generated test pack: its results mean nothing for real photos. */
function ModelBanner() {
  const [warning, setWarning] = useState<string | undefined>();
  useEffect(() => {
    modelStatus().then(
      (m) => setWarning(m.meaningful ? undefined : m.warning),
      () => undefined,
    );
  }, []);
  if (!warning) return null;
  return (
    <p class="model-banner" role="alert" data-testid="model-banner">
      ⚠ 当前使用的是测试模型，搜索结果对真实照片没有意义。安装真实的中文 CLIP 模型：<code>npm run models:fetch</code>
      <br />
      <small>{warning}</small>
    </p>
  );
}

function App() {
  const [tab, setTab] = useState<'search' | 'duplicates' | 'admin'>('search');
  return (
    <>
      <header>
        <h1>图片语义搜索</h1>
        <nav aria-label="视图">
          <button type="button" aria-pressed={tab === 'search'} onClick={() => setTab('search')}>
            搜索 Search
          </button>
          <button type="button" aria-pressed={tab === 'duplicates'} onClick={() => setTab('duplicates')}>
            重复 Duplicates
          </button>
          <button type="button" aria-pressed={tab === 'admin'} onClick={() => setTab('admin')}>
            管理 Admin
          </button>
        </nav>
        <KeyField />
      </header>
      <ModelBanner />
      <main>{tab === 'search' ? <SearchView /> : tab === 'duplicates' ? <DuplicatesView /> : <AdminView />}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
