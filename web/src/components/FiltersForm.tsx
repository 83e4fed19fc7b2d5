import type { Filters } from '../api';

export function FiltersForm({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
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
