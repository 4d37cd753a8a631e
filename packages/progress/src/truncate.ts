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
