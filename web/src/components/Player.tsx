import { useRef } from 'preact/hooks';
import type { Hit } from '../api';
import { clock } from '../format';

/** The movie of a video or Live Photo hit, playing from the stretch that matched; the other stretches seek it. */
export function Player({ hit }: { hit: Hit }) {
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
