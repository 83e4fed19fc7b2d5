import { useEffect, useState } from 'preact/hooks';
import { modelStatus } from '../api';

/** Loud when the service runs the generated test pack: its results mean nothing for real photos. */
export function ModelBanner() {
  const [warning, setWarning] = useState<string | undefined>();
  useEffect(() => {
    modelStatus().then(
      (m) => setWarning(m.meaningful ? undefined : m.warning),
      () => undefined,
    );
  }, []);
  if (!warning) return null;
  return (
    <p class="model-banner" role="alert" data-testid="model-banner">
      ⚠ 当前使用的是测试模型，搜索结果对真实照片没有意义。安装真实的中文 CLIP 模型：<code>npm run models:fetch</code>
      <br />
      <small>{warning}</small>
    </p>
  );
}
