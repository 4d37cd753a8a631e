// Character decoding of fetched bodies: picks the encoding the way browsers
// do (byte order mark, then the Content-Type charset, then an in-document
// declaration) and decodes with TextDecoder, falling back to UTF-8.
import { TextDecoder } from 'node:util';

/** How far into the body an in-document declaration is looked for (WHATWG prescans 1024 bytes). */
const PRESCAN_BYTES = 4096;

const META_CHARSET = /<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)/i;
const XML_ENCODING = /^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([\w.:-]+)["']/i;

export interface Decoded {
  text: string;
  /** The WHATWG name of the encoding used, e.g. `utf-8`, `windows-1252`. */
  encoding: string;
}

/** Decodes a body; `contentType` is the raw header value, if any. */
export function decodeBody(bytes: Uint8Array, contentType?: string | null): Decoded {
  const label =
    bomEncoding(bytes) ?? charsetFromContentType(contentType) ?? declaredEncoding(bytes) ?? 'utf-8';
  const decoder = decoderFor(label);
  if (decoder.encoding === 'windows-1252') {
    return { text: decodeWindows1252(bytes), encoding: decoder.encoding };
  }
  return { text: decoder.decode(bytes), encoding: decoder.encoding };
}

/**
 * Bytes 0x80-0x9F of windows-1252 (which is what `iso-8859-1`, `latin1` and
 * `us-ascii` mean on the web). Node 20's TextDecoder decodes this encoding as
 * plain ISO-8859-1 and turns curly quotes and dashes into C1 controls.
 */
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
const C1_CONTROLS = /[\u0080-\u009f]/g;

function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
    .toString('latin1')
    .replace(C1_CONTROLS, (char) => WINDOWS_1252_HIGH[char.charCodeAt(0) - 0x80] ?? char);
}

/** The `charset` parameter of a Content-Type header value. */
export function charsetFromContentType(contentType?: string | null): string | null {
  if (!contentType) return null;
  const match = /;\s*charset\s*=\s*("?)([^";,\s]+)\1/i.exec(contentType);
  return match?.[2] ?? null;
}

function bomEncoding(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return null;
}

/** `<meta charset>`, `<meta http-equiv content="...; charset=">` or `<?xml encoding>`. */
function declaredEncoding(bytes: Uint8Array): string | null {
  // Declarations are ASCII; latin1 maps each byte to one character, so any body prescans safely.
  const head = Buffer.from(
    bytes.buffer,
    bytes.byteOffset,
    Math.min(bytes.length, PRESCAN_BYTES),
  ).toString('latin1');
  const label = (XML_ENCODING.exec(head) ?? META_CHARSET.exec(head))?.[1]?.toLowerCase();
  if (!label) return null;
  // A document that states its UTF-16 encoding in ASCII is not UTF-16 (WHATWG prescan rule).
  return label.startsWith('utf-16') ? 'utf-8' : label;
}

function decoderFor(label: string): TextDecoder {
  try {
    return new TextDecoder(label);
  } catch {
    // Unknown label (RangeError): the web's default is UTF-8.
    return new TextDecoder('utf-8');
  }
}
