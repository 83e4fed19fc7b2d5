import type { JSX } from 'preact';
import type { Hit, ImageDetail } from '../api';

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
export function OcrLines({ detail, hit }: { detail: ImageDetail | null; hit: Hit }) {
  if (!detail) return null;
  const { text } = detail;
  const matched = hit.match?.matchedField === 'ocr' ? hit.match.matchedText : null;
  return (
    <section class="ocr" data-testid="ocr-lines">
      <h3>图中文字 Text in the photo</h3>
      {text.state === 'failed' && <p class="hint">文字识别失败：{text.error}</p>}
      {text.state === 'pending' && <p class="hint">等待识别文字（导入结束后依次识别）Text is read after the import</p>}
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
