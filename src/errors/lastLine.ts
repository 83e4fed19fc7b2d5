/** The last line of an error's message: its cause, where a client library (Prisma) quotes the calling code above it. */
export function lastLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (
    message
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? message
  );
}
