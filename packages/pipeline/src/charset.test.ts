import { describe, expect, it } from 'vitest';
import { charsetFromContentType, decodeBody } from './charset.js';

const latin1 = (text: string) => Buffer.from(text, 'latin1');

describe('decodeBody', () => {
  it('uses the Content-Type charset', () => {
    const decoded = decodeBody(latin1('<p>caf\xe9</p>'), 'text/html; charset=ISO-8859-1');
    expect(decoded.text).toBe('<p>café</p>');
    expect(decoded.encoding).toBe('windows-1252');
  });

  it('uses <meta charset> when the header has none', () => {
    const html = '<html><head><meta charset="iso-8859-1"></head><body>na\xefve</body></html>';
    expect(decodeBody(latin1(html), 'text/html').text).toContain('naïve');
  });

  it('uses <meta http-equiv="Content-Type">', () => {
    const html =
      '<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"></head>\x93q\x94';
    expect(decodeBody(latin1(html), null).text).toContain('\u201cq\u201d');
  });

  it('uses the XML declaration', () => {
    const xml = '<?xml version="1.0" encoding="ISO-8859-1"?><loc>\xe9</loc>';
    expect(decodeBody(latin1(xml)).text).toContain('<loc>é</loc>');
  });

  it('lets the header win over the document, and the BOM over both', () => {
    const html = '<meta charset="iso-8859-1">é';
    expect(decodeBody(Buffer.from(html, 'utf8'), 'text/html; charset=utf-8').text).toContain('é');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('é', 'utf8')]);
    expect(decodeBody(bom, 'text/html; charset=iso-8859-1').text).toBe('é');
  });

  it('falls back to UTF-8 for no or an unknown charset', () => {
    expect(decodeBody(Buffer.from('ü', 'utf8')).text).toBe('ü');
    expect(decodeBody(Buffer.from('ü', 'utf8'), 'text/html; charset=klingon').encoding).toBe(
      'utf-8',
    );
  });

  it('treats a UTF-16 declaration in an ASCII document as UTF-8', () => {
    expect(decodeBody(Buffer.from('<meta charset="utf-16">ü', 'utf8')).text).toContain('ü');
  });
});

describe('charsetFromContentType', () => {
  it.each([
    ['text/html; charset=utf-8', 'utf-8'],
    ['text/html;charset="Shift_JIS"', 'Shift_JIS'],
    ['text/html; Charset=ISO-8859-1; foo=bar', 'ISO-8859-1'],
    ['text/html', null],
    [null, null],
  ])('%s -> %s', (header, expected) => {
    expect(charsetFromContentType(header)).toBe(expected);
  });
});

describe('windows-1252', () => {
  it('decodes 0x80-0x9F as the web does (curly quotes, euro, dashes), not as C1 controls', () => {
    const bytes = Buffer.from([0x93, 0x71, 0x94, 0x20, 0x80, 0x96, 0x99, 0xe9, 0x81]);
    expect(decodeBody(bytes, 'text/html; charset=iso-8859-1').text).toBe(
      '\u201cq\u201d \u20ac\u2013\u2122é\u0081',
    );
  });
});
