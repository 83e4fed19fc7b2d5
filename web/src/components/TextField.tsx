/** A labelled text box bound to a value. */
export function TextField({ label, value, onChange, placeholder }: { label: string; value: string; onChange: (v: string) => void; placeholder?: string }) {
  return (
    <label>
      {label}
      <input value={value} onInput={(e) => onChange((e.target as HTMLInputElement).value)} placeholder={placeholder} />
    </label>
  );
}
