import { useState } from 'preact/hooks';
import { getKey, setKey } from '../api';

export function KeyField() {
  const [key, setValue] = useState(getKey());
  return (
    <label class="key">
      API 密钥
      <input
        type="password"
        autocomplete="off"
        value={key}
        onInput={(e) => {
          const v = (e.target as HTMLInputElement).value;
          setValue(v);
          setKey(v);
        }}
        placeholder="isk_… / admin key"
      />
    </label>
  );
}
