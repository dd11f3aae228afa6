import { inflateSync } from 'node:zlib';
import jsQR from 'jsqr';

/** One page of a PDF as a test reads it. */
export interface PdfPage {
  /** Its text, one line per text object (`BT … ET`). */
  text: string;
  /** The text of the QR code each of its colour images shows (jsQR), in its resources' order; null when none reads. */
  qrCodes: (string | null)[];
}

/** What a test reads of a PDF: its pages in order, and for convenience their texts and QR codes. */
export interface ReadPdf {
  pages: number;
  /** Per page, its text (PdfPage.text). */
  texts: string[];
  /** Every page's QR codes, in page order. */
  qrCodes: (string | null)[];
}

/** An object of the file: its dictionary's text and, for a stream, its bytes (inflated when FlateDecode). */
interface PdfObject {
  dictionary: string;
  data: Buffer | null;
}

/**
 * Reads a PDF as pdfkit writes it (one object per `N 0 obj … endobj`, streams with a direct
 * `/Length`): its pages in the order of the page tree's `/Kids`, the text its standard fonts draw
 * on each (the hex strings of `TJ` arrays, read as WinAnsiEncoding, kerning dropped) and the QR
 * codes its images show. Enough to check what a ticket says, not a general PDF parser.
 */
export function readPdf(pdf: Buffer): ReadPdf {
  const objects = pdfObjects(pdf);
  const tree = [...objects.values()].find((object) => /\/Type \/Pages\b/.test(object.dictionary));
  const kids = refs(/\/Kids \[([^\]]*)\]/.exec(tree?.dictionary ?? '')?.[1] ?? '');
  const pages = kids.map((id) => readPage(objects, objects.get(id)!));
  return { pages: pages.length, texts: pages.map((page) => page.text), qrCodes: pages.flatMap((page) => page.qrCodes) };
}

function readPage(objects: Map<number, PdfObject>, page: PdfObject): PdfPage {
  const contents = refs(/\/Contents (\d+ 0 R|\[[^\]]*\])/.exec(page.dictionary)?.[1] ?? '');
  const text = contents.map((id) => contentText(objects.get(id)!.data!.toString('latin1'))).join('\n');
  // Resources inline or an object of their own; its /XObject names the page's images.
  const resourcesRef = /\/Resources (\d+) 0 R/.exec(page.dictionary)?.[1];
  const resources = resourcesRef ? objects.get(Number(resourcesRef))!.dictionary : page.dictionary;
  const images = refs(/\/XObject <<([^>]*)>>/.exec(resources)?.[1] ?? '')
    .map((id) => objects.get(id)!)
    .filter(
      (object) => /\/Subtype \/Image/.test(object.dictionary) && /\/ColorSpace \/DeviceRGB/.test(object.dictionary),
    );
  return { text, qrCodes: images.map(qrCodeOf) };
}

/** The QR code an 8-bit RGB image shows (its alpha, a separate soft mask, is opaque), or null. */
function qrCodeOf(image: PdfObject): string | null {
  const width = Number(/\/Width (\d+)/.exec(image.dictionary)![1]);
  const height = Number(/\/Height (\d+)/.exec(image.dictionary)![1]);
  const rgb = image.data!;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i += 1) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = 255;
  }
  return jsQR(rgba, width, height)?.data ?? null;
}

/** The object numbers of the references (`N 0 R`) in `text`, in order. */
function refs(text: string): number[] {
  return [...text.matchAll(/(\d+) 0 R/g)].map((match) => Number(match[1]));
}

function pdfObjects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const objects = new Map<number, PdfObject>();
  const start = /(\d+) 0 obj\s*/g;
  for (let match = start.exec(text); match; match = start.exec(text)) {
    const from = match.index + match[0].length;
    const end = text.indexOf('endobj', from);
    const streamAt = text.indexOf('stream', from);
    if (streamAt >= 0 && streamAt < end) {
      const dictionary = text.slice(from, streamAt);
      const length = Number(/\/Length (\d+)/.exec(dictionary)![1]);
      const dataFrom = streamAt + 'stream'.length + (text[streamAt + 6] === '\r' ? 2 : 1);
      const raw = pdf.subarray(dataFrom, dataFrom + length);
      objects.set(Number(match[1]), {
        dictionary,
        data: /\/FlateDecode/.test(dictionary) ? inflateSync(raw) : raw,
      });
      start.lastIndex = dataFrom + length;
    } else {
      objects.set(Number(match[1]), { dictionary: text.slice(from, end), data: null });
      start.lastIndex = end;
    }
  }
  return objects;
}

/** The text of a content stream: per `BT … ET` object, its `TJ` strings joined, one line each. */
function contentText(content: string): string {
  const lines: string[] = [];
  for (const [object] of content.matchAll(/\bBT\b[\s\S]*?\bET\b/g)) {
    let line = '';
    for (const [, array] of object.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
      for (const [, hex] of array.matchAll(/<([0-9a-fA-F]*)>/g)) line += winAnsi(Buffer.from(hex, 'hex'));
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** WinAnsiEncoding's characters at 0x80-0x9F (where it differs from Latin-1), by byte. */
const WIN_ANSI_HIGH: Record<number, string> = {
  0x80: '€',
  0x82: '‚',
  0x83: 'ƒ',
  0x84: '„',
  0x85: '…',
  0x86: '†',
  0x87: '‡',
  0x88: 'ˆ',
  0x89: '‰',
  0x8a: 'Š',
  0x8b: '‹',
  0x8c: 'Œ',
  0x8e: 'Ž',
  0x91: '‘',
  0x92: '’',
  0x93: '“',
  0x94: '”',
  0x95: '•',
  0x96: '–',
  0x97: '—',
  0x98: '˜',
  0x99: '™',
  0x9a: 'š',
  0x9b: '›',
  0x9c: 'œ',
  0x9e: 'ž',
  0x9f: 'Ÿ',
};

/** Bytes of a simple font's string in WinAnsiEncoding (pdfkit's standard fonts) as text. */
function winAnsi(bytes: Buffer): string {
  return [...bytes].map((byte) => WIN_ANSI_HIGH[byte] ?? String.fromCharCode(byte)).join('');
}
