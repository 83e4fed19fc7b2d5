/**
 * Every error code the API answers with, its HTTP status and what it means. Errors are made from this
 * table (AppError takes a code, never a status), route declarations list their codes from it, the
 * OpenAPI document describes them from it, and the typed client reads the same table. Pure data: the
 * client and the web page import it.
 */
export const ERROR_CODES = {
  validation_error: { status: 400, description: 'The request does not match its schema; `details` says where.' },
  invalid_json: { status: 400, description: 'The body is not valid JSON.' },
  bad_request: { status: 400, description: 'The request could not be read.' },
  url_not_allowed: { status: 400, description: 'A URL to fetch is not a public http(s) address.' },
  batch_mismatch: { status: 400, description: "A pull worker's answer does not fit the batch it leased." },
  bad_tensor_length: { status: 400, description: 'Encoder process: the body is not a whole number of tensors.' },
  image_size_mismatch: { status: 400, description: "Encoder process: the tensors are not of the encoder's input size." },
  upload_limit_part_count: { status: 400, description: 'The form has too many parts.' },
  upload_limit_field_key: { status: 400, description: 'A form field name is too long.' },
  upload_limit_field_count: { status: 400, description: 'The form has too many fields.' },
  upload_limit_unexpected_file: { status: 400, description: 'A file was sent in a field that takes none, or too many files.' },
  upload_missing_field_name: { status: 400, description: 'A form part has no field name.' },
  unauthorized: { status: 401, description: 'No API key, or not a valid one (unknown, malformed or revoked).' },
  forbidden: { status: 403, description: 'The key may not do this: a missing scope, another owner, an operator route, or a bad signed URL.' },
  path_not_allowed: { status: 403, description: 'The folder is outside the roots this key may read.' },
  not_found: { status: 404, description: 'No such resource for this key (another owner’s is answered the same way).' },
  already_watched: { status: 409, description: 'The folder is watched for this owner already.' },
  job_finished: { status: 409, description: 'The job has finished already.' },
  job_not_failed: { status: 409, description: 'Only a failed job can be run again.' },
  pull_disabled: { status: 409, description: 'This service queues no batches for pull workers (PULL_ENCODERS=off).' },
  lease_gone: { status: 409, description: 'The batch was answered already, or its lease expired.' },
  pack_mismatch: { status: 409, description: "The worker's model pack is not the one this service indexes with." },
  captioner_mismatch: { status: 409, description: "The worker's captioner is not the one this service captions with, or the service has none." },
  body_too_large: { status: 413, description: 'The JSON body is over its limit.' },
  upload_limit_file_size: { status: 413, description: 'An uploaded file is over MAX_IMAGE_BYTES (MAX_VIDEO_BYTES for videos).' },
  upload_limit_file_count: { status: 413, description: 'More files than MAX_UPLOAD_FILES.' },
  upload_limit_field_value: { status: 413, description: 'A form field is over its size limit.' },
  image_too_large: { status: 413, description: 'The image has more pixels than MAX_IMAGE_PIXELS.' },
  unsupported_media_type: { status: 415, description: 'The Content-Type is not one this route takes.' },
  image_unsupported: { status: 415, description: 'Not an image format the service reads.' },
  image_empty: { status: 422, description: 'The file is empty.' },
  image_corrupt: { status: 422, description: 'The image could not be decoded.' },
  url_fetch_failed: { status: 422, description: 'A URL could not be fetched.' },
  rate_limited: { status: 429, description: 'Too many requests for this key; `retry-after` says when to retry.' },
  internal_error: { status: 500, description: 'An unexpected failure; the log has the details.' },
  timeout: { status: 503, description: 'The request ran past REQUEST_TIMEOUT_MS.' },
  caption_unavailable: { status: 503, description: 'No caption could be made.' },
  model_unavailable: { status: 503, description: 'The model pack could not be loaded or run.' },
  vector_store_unavailable: { status: 503, description: 'The vector store did not answer.' },
  database_unavailable: { status: 503, description: 'PostgreSQL did not answer (a restart, a failover); retry later.' },
  vector_store_full: { status: 507, description: 'The embedded vector store holds as many vectors as it can (about 8 million at 512-d).' },
  web_not_built: { status: 503, description: 'The web page is not built (npm run build:web).' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.prototype.hasOwnProperty.call(ERROR_CODES, code);

/** The error body every failure leaves the API with. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}
