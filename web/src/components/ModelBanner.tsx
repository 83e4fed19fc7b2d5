import { useEffect, useState } from 'preact/hooks';
import { modelStatus, type ModelStatus } from '../api';

const mb = (n: number) => (n / 1e6).toFixed(1);

/** "下载中 12.3 / 188.0 MB · 4.1 MB/s · 约 43 秒" and the like, for the real model's background install. */
function installLine(i: NonNullable<ModelStatus['install']>): string {
  if (i.state === 'failed') return `自动下载真实模型失败：${i.error ?? ''}。请在能访问模型仓库时运行 npm run models:fetch。`;
  if (i.state === 'switching') return '真实模型已下载，正在切换……';
  if (i.state === 'installing') return `真实模型已下载，正在检查和安装（${i.step ?? ''}）……`;
  if (i.state === 'ready') return `已切换到真实模型 ${i.pack ?? ''}，正在为已有照片重新建立索引。`;
  const parts = [`正在后台下载真实的中文 CLIP 模型（${i.repo}）：${mb(i.receivedBytes)} / ${mb(i.totalBytes)} MB`];
  if (i.bytesPerSecond) parts.push(`${mb(i.bytesPerSecond)} MB/s`);
  if (i.etaSeconds !== null) parts.push(`约 ${i.etaSeconds} 秒`);
  return `${parts.join(' · ')}。完成后自动切换，无需重启。`;
}

/**
 * Loud when the service runs the generated test pack (its results mean nothing for real photos), with the
 * background download of the real model and its progress while there is one; polled until it is over.
 */
export function ModelBanner() {
  const [status, setStatus] = useState<ModelStatus | undefined>();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () =>
      modelStatus().then(
        (m) => {
          setStatus(m);
          const running = m.install && m.install.state !== 'failed' && !(m.install.state === 'ready' && m.meaningful);
          if (running || (!m.meaningful && m.install)) timer = setTimeout(poll, 2000);
        },
        () => undefined,
      );
    void poll();
    return () => clearTimeout(timer);
  }, []);
  if (!status || (status.meaningful && status.install?.state !== 'ready')) return null;
  if (status.meaningful)
    return (
      <p class="model-banner model-banner-ok" role="status" data-testid="model-banner">
        {installLine(status.install!)}
      </p>
    );
  return (
    <p class="model-banner" role="alert" data-testid="model-banner">
      ⚠ 当前使用的是测试模型，搜索结果对真实照片没有意义。
      {status.install ? (
        installLine(status.install)
      ) : (
        <>
          安装真实的中文 CLIP 模型：<code>npm run models:fetch</code>
        </>
      )}
      <br />
      <small>{status.warning}</small>
    </p>
  );
}
