import { useState } from 'preact/hooks';
import { jobStatus, startIngest, type JobStatus } from '../api';
import { TextField } from '../components/TextField';
import { message } from '../format';

export function AdminView() {
  const [owner, setOwner] = useState('');
  const [albums, setAlbums] = useState('');
  const [folder, setFolder] = useState('');
  const [urls, setUrls] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const albumList = albums
        .split(/[,，]/)
        .map((a) => a.trim())
        .filter(Boolean);
      const urlList = urls.split(/\s+/).filter(Boolean);
      const { jobId } = await startIngest({ owner, albums: albumList, ...(files.length ? { files } : urlList.length ? { urls: urlList } : { folder }) });
      const poll = async () => {
        const s = await jobStatus(jobId);
        setJob(s);
        if (s.state === 'queued' || s.state === 'running') setTimeout(() => void poll(), 500);
      };
      await poll();
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section class="admin">
      <h2>导入图片 Ingest</h2>
      <form onSubmit={submit}>
        <TextField label="用户 Owner" value={owner} onChange={setOwner} />
        <TextField label="相册 Albums（逗号分隔）" value={albums} onChange={setAlbums} />
        <TextField label="服务器文件夹 Folder" value={folder} onChange={setFolder} placeholder="相对于 INGEST_ROOTS" />
        <label>
          网址 URLs（每行一个）
          <textarea value={urls} onInput={(e) => setUrls((e.target as HTMLTextAreaElement).value)} />
        </label>
        <label>
          上传文件 Files
          <input
            type="file"
            multiple
            accept="image/*,.heic,.heif"
            data-testid="ingest-files"
            onChange={(e) => setFiles([...((e.target as HTMLInputElement).files ?? [])])}
          />
        </label>
        <button type="submit">开始导入 Start</button>
      </form>
      {error && <p role="alert">{error}</p>}
      {job && (
        <div class="job" data-testid="job">
          <progress max={job.total || 1} value={job.done + job.skipped + job.failed} aria-label="导入进度" />
          <p data-testid="job-status">
            {jobLabel(job)}: {job.done + job.skipped + job.failed}/{job.total}（完成 {job.done}，跳过 {job.skipped}，失败 {job.failed}）
          </p>
          {job.errors.length > 0 && (
            <ul class="errors">
              {job.errors.map((e) => (
                <li key={e.source}>
                  {e.source}: {e.error}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

const STATES: Record<JobStatus['state'], string> = {
  queued: '排队中 queued',
  running: '导入中 running',
  completed: '已完成 completed',
  failed: '失败 failed',
  cancelled: '已取消 cancelled',
};

/** A running job between its turns (another import runs meanwhile) says that it waits. */
function jobLabel(job: JobStatus): string {
  if (job.state === 'running' && job.waiting) return '等待中（其他导入先进行） waiting';
  return STATES[job.state];
}
