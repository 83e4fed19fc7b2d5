import { useEffect, useRef, useState } from 'preact/hooks';
import { getCaption, getImage, searchSimilar, type Filters, type Hit, type ImageDetail } from '../api';
import { clock, fileName, placeLabel } from '../format';
import { Grid } from './Grid';
import { OcrLines } from './OcrLines';
import { Player } from './Player';

const FIELD_NAMES = { ocr: '图中文字', caption: '说明', tags: '自动标签' } as const;

interface DialogProps {
  hit: Hit;
  filters: Filters;
  onClose: () => void;
  onOpen: (h: Hit) => void;
  /** An auto tag was clicked: search for it. */
  onTag: (label: string) => void;
}

export function ImageDialog({ hit, filters, onClose, onOpen, onTag }: DialogProps) {
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
      (c) =>
        setCaption(
          c.caption
            ? `${c.caption.text}${c.caption.original ? `（原文 ${c.caption.original}）` : ''}`
            : `（${'captionError' in c ? c.captionError : '无说明'}）`,
        ),
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
      <AutoTags tags={detail?.autoTags ?? hit.autoTags} onTag={onTag} />
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
        <dt>地点 Place</dt>
        <dd data-testid="meta-place">{hit.place ? placeLabel(hit.place) : '—'}</dd>
        <dt>用户 Owner</dt>
        <dd>{hit.owner}</dd>
        <dt>相关度 Relevance</dt>
        <dd data-testid="dialog-relevance">
          {Math.round(hit.relevance * 100)}%（排序分 {hit.score.toFixed(4)}）
        </dd>
        {hit.match && (
          <>
            <dt>匹配 Match</dt>
            <dd data-testid="match">
              语义 {hit.match.semanticScore?.toFixed(3) ?? '—'} · 文字 {hit.match.textScore?.toFixed(3) ?? '—'}
              {hit.match.matchedField && `（${FIELD_NAMES[hit.match.matchedField]}）`}
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

/** The concepts the image pack sees in the photo; a click searches for one. */
function AutoTags({ tags, onTag }: { tags: Hit['autoTags']; onTag: (label: string) => void }) {
  if (tags.length === 0) return null;
  return (
    <ul class="auto-tags" data-testid="auto-tags" aria-label="自动标签 Auto tags">
      {tags.map((t) => (
        <li key={t.label}>
          <button type="button" title={`${t.score.toFixed(3)}：搜索「${t.label}」`} onClick={() => onTag(t.label)}>
            {t.label}
          </button>
        </li>
      ))}
    </ul>
  );
}
