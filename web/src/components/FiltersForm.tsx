import { useEffect, useState } from 'preact/hooks';
import { placeNamesOf, type Filters } from '../api';

export function FiltersForm({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const [places, setPlaces] = useState<string[]>([]);
  // The owner's places as suggestions: an operator key without an owner sees every owner's.
  useEffect(() => {
    placeNamesOf(filters.owner?.trim() ?? '').then(setPlaces, () => setPlaces([]));
  }, [filters.owner]);
  const field = (name: keyof Filters, label: string, type = 'text', list?: string) => (
    <label>
      {label}
      <input
        name={name}
        type={type}
        list={list}
        value={filters[name] ?? ''}
        onChange={(e) => onChange({ ...filters, [name]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <fieldset class="filters">
      <legend>筛选 Filters</legend>
      {field('owner', '用户 Owner')}
      {field('album', '相册 Album')}
      {field('takenFrom', '从 From', 'date')}
      {field('takenTo', '到 To', 'date')}
      {field('place', '地点 Place', 'text', 'place-names')}
      <datalist id="place-names">
        {places.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
    </fieldset>
  );
}
