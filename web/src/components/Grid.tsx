import type { Hit } from '../api';
import { clock, fileName } from '../format';

/** The API's line between a good match and a weak one. */
export const GOOD_MATCH = 0.5;

export function Grid({ hits, onOpen, label }: { hits: Hit[]; onOpen: (h: Hit) => void; label: string }) {
  return (
    <ul class="grid" aria-label={label}>
      {hits.map((h) => (
        <li key={h.id}>
          <button type="button" class="tile" onClick={() => onOpen(h)} data-testid="hit">
            <img src={h.thumbnailUrl} alt={fileName(h.source)} loading="lazy" />
            <span class={h.relevance >= GOOD_MATCH ? 'score' : 'score weak'} title="相关度 Relevance" data-testid="relevance">
              {Math.round(h.relevance * 100)}%
            </span>
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
