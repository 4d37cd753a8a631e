// Cuts text that goes into events and stored results to a hard limit
// (MAX_TITLE_LENGTH, MAX_MESSAGE_LENGTH), whatever the caller sends: no event
// can grow past MAX_EVENT_BYTES because a page had a 3 MB <title>.

/** `text` cut to at most `max` UTF-16 code units, never splitting a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  // A high surrogate as the last kept unit would be half a character.
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

const encoder = new TextEncoder();

/** `text` cut to at most `maxBytes` of UTF-8, at a character boundary; `cut` says whether anything went. */
export function truncateBytes(text: string, maxBytes: number): { text: string; cut: boolean } {
  // Every UTF-16 code unit is at most 3 bytes of UTF-8: short strings need no count.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return { text, cut: false };
  // encodeInto writes whole characters only; `read` is how much of the string fitted.
  const { read } = encoder.encodeInto(text, new Uint8Array(maxBytes));
  return { text: text.slice(0, read), cut: true };
}
