/** Full-width forms, odd spaces and stray whitespace must not make "the same" query differ. */
export function normalizeQuery(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, ' ').trim();
}
