import { z } from 'zod';
import { normalizeQuery } from './textQuery';

/** Owner names and the corpus's text input: pure schemas, which the API's declarations (and the web page) read. */
export const ownerName = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\p{N}._@-]+$/u, 'letters, digits and . _ @ - only')
  // An owner's name may name its folder (INGEST_TENANT_ROOT/<owner>).
  .refine((o) => o !== '.' && o !== '..', 'not . or ..');

/** One text for the corpus, as the API and the texts CLI accept it. */
export const textInputSchema = z
  .object({
    /** The caller's id for the text (e.g. a product id); defaults to the text's hash. */
    id: z.string().trim().min(1).max(256).optional(),
    text: z.string().transform(normalizeQuery).pipe(z.string().min(1).max(1000)),
    owner: ownerName.optional(),
  })
  .strict();

export interface TextInput {
  id?: string | undefined;
  text: string;
  owner?: string | undefined;
}
