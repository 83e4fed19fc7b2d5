import type { z } from 'zod';
import { isErrorCode, type ErrorCode } from '../errors/codes';
import {
  captionAnswerResultSchema,
  captionLeaseResultSchema,
  WORKER_ROUTES,
  workerAnswerResultSchema,
  workerLeaseResultSchema,
  type captionAnswerSchema,
  type workerAnswerSchema,
} from './protocol';

/** The service refused a worker's request: its status and the error code of the catalogue. */
export class ServiceRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'http_error',
    message: string,
  ) {
    super(message);
  }
}

/** A pull worker's calls to the service (SERVICE_URL, WORKER_KEY): lease a batch or an image to caption, answer it. */
export class ServiceLink {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly key: string,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async post<T extends z.ZodType>(path: string, body: unknown, answer: T): Promise<z.output<T>> {
    const res = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      const code = json?.error?.code;
      throw new ServiceRefusal(res.status, code && isErrorCode(code) ? code : 'http_error', json?.error?.message ?? `HTTP ${res.status}`);
    }
    return answer.parse(json);
  }

  lease(pack: string): Promise<z.output<typeof workerLeaseResultSchema>> {
    return this.post(WORKER_ROUTES.lease, { pack }, workerLeaseResultSchema);
  }

  answer(id: string, body: z.input<typeof workerAnswerSchema>): Promise<z.output<typeof workerAnswerResultSchema>> {
    return this.post(WORKER_ROUTES.answer.replace('{id}', encodeURIComponent(id)), body, workerAnswerResultSchema);
  }

  leaseCaption(captioner: string): Promise<z.output<typeof captionLeaseResultSchema>> {
    return this.post(WORKER_ROUTES.captionLease, { captioner }, captionLeaseResultSchema);
  }

  answerCaption(imageId: string, body: z.input<typeof captionAnswerSchema>): Promise<z.output<typeof captionAnswerResultSchema>> {
    return this.post(WORKER_ROUTES.captionAnswer.replace('{imageId}', encodeURIComponent(imageId)), body, captionAnswerResultSchema);
  }
}
