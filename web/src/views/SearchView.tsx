import { useEffect, useRef, useState } from 'preact/hooks';
import { searchByUpload, searchText, type Filters, type Hit, type SearchMode, type SearchPage } from '../api';
import { FiltersForm } from '../components/FiltersForm';
import { GOOD_MATCH, Grid } from '../components/Grid';
import { ImageDialog } from '../components/ImageDialog';
import { message } from '../format';

export function SearchView() {
  const [query, setQuery] = useState('');
  const [filters, setFilters] = useState<Filters>({});
  const [hits, setHits] = useState<Hit[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Hit | null>(null);
  const [dragging, setDragging] = useState(false);
  const [mode, setMode] = useState<SearchMode | ''>('');
  const [hideWeak, setHideWeak] = useState(false);
  const [noGoodMatch, setNoGoodMatch] = useState(false);
  const sentinel = useRef<HTMLDivElement>(null);
  const lastQuery = useRef('');

  const run = async (more: boolean, q = query) => {
    if (busy || (!more && !q.trim())) return;
    setBusy(true);
    // A new search says so at once: the count of the one before must not stand for its result.
    if (!more) setStatus('搜索中…');
    try {
      const page = await searchText(q, filters, more ? cursor : null, mode);
      lastQuery.current = q;
      setHits(more ? [...hits, ...page.hits] : page.hits);
      if (!more) setNoGoodMatch(page.noGoodMatch);
      setCursor(page.nextCursor);
      setStatus(`${more ? hits.length + page.hits.length : page.hits.length} 张图片 (${page.tookMs} ms)${readAs(page.parsed)}`);
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
      setNoGoodMatch(page.noGoodMatch);
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
        {noGoodMatch && hits.length > 0 && <span data-testid="no-good-match">；没有很相关的结果 (no good match)</span>}
      </p>
      <label class="hide-weak">
        <input type="checkbox" checked={hideWeak} onChange={(e) => setHideWeak((e.target as HTMLInputElement).checked)} />
        隐藏弱相关 Hide weak matches
      </label>
      <Grid hits={hideWeak ? hits.filter((h) => h.relevance >= GOOD_MATCH) : hits} onOpen={setOpen} label="搜索结果" />
      {cursor && (
        <div ref={sentinel} class="more">
          <button type="button" onClick={() => void run(true)} disabled={busy}>
            加载更多 Load more
          </button>
        </div>
      )}
      {open && (
        <ImageDialog
          hit={open}
          filters={filters}
          onClose={() => setOpen(null)}
          onOpen={setOpen}
          onTag={(label) => {
            setOpen(null);
            setQuery(label);
            void run(false, label);
          }}
        />
      )}
    </section>
  );
}

/** How the service read the query, when it read more than words: the dates it named, what it left out. */
function readAs(parsed: SearchPage['parsed']): string {
  if (!parsed) return '';
  const day = (iso: string) => new Date(iso).toLocaleDateString('zh-CN');
  const parts = [
    ...(parsed.dates ? [`拍摄于 ${parsed.dates.phrase}（${day(parsed.dates.from)}–${day(parsed.dates.to)}）`] : []),
    ...(parsed.place ? [`地点 ${parsed.place.phrase}`] : []),
    ...(parsed.excluded.length ? [`排除 ${parsed.excluded.join('、')}`] : []),
  ];
  return parts.length ? `；${parts.join('；')}` : '';
}
