import Transport from 'winston-transport';
import { DailyFile } from './daily-file';

const MESSAGE = Symbol.for('message');

export interface DailyFileTransportOptions extends Transport.TransportStreamOptions {
  file: DailyFile;
}

/** Winston's formatted lines of one level into a {@link DailyFile} (batched, see there). */
export class DailyFileTransport extends Transport {
  private readonly file: DailyFile;

  constructor(options: DailyFileTransportOptions) {
    super(options);
    this.file = options.file;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.file.append(String(info[MESSAGE]));
    next();
  }

  override close(): void {
    this.file.close();
  }
}
