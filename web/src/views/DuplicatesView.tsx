import { useState } from 'preact/hooks';
import { dismissDuplicates, listDuplicates, type DuplicatePage } from '../api';
import { TextField } from '../components/TextField';
import { fileName, message } from '../format';

/** One owner's near-duplicates: each group's members, the one to keep marked, and a button to dismiss it. */
export function DuplicatesView() {
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
        <TextField label="用户 Owner" value={owner} onChange={setOwner} />
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
