/** A UUID's text form (any version). Pure: the web page's bundle reads it through the API's declarations. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
