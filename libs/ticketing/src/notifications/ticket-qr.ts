/** Pixels per QR module: a 66-character code (version 5, 37 modules + 2×4 quiet zone) is 360 px wide. */
const SCALE = 8;

/**
 * The QR code of a ticket code as a PNG image: error correction level M (15 % of the symbol may be
 * lost), the standard 4-module quiet zone, black on white. Rejects when `code` does not fit a QR code.
 * `qrcode` is imported on the first call: only the mailer renders codes, and the api and batch,
 * which load this library too, need not pay for its import at every start.
 */
export async function renderTicketQr(code: string): Promise<Buffer> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toBuffer(code, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: SCALE });
}
