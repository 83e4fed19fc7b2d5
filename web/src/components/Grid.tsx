import type { Hit } from '../api';
import { clock, fileName } from '../format';

export function Grid({ hits, onOpen, label }: { hits: Hit[]; onOpen: (h: Hit) => void; label: string }) {
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
