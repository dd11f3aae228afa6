import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Transport from 'winston-transport';

const MESSAGE = Symbol.for('message');
const DAY_MS = 24 * 60 * 60 * 1000;

export interface DailyFileOptions extends Transport.TransportStreamOptions {
  dir: string;
  /** Files are `<prefix>-<YYYY-MM-DD>.log`, by local date. */
  prefix: string;
  keepDays: number;
}

function localDate(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/**
 * One log file per day, written synchronously: when `log()` returns the line is in the kernel,
 * so a process killed with SIGKILL right after answering a request has still logged it (an
 * asynchronous file stream would lose the lines waiting in its buffer). Files older than
 * `keepDays` are deleted when the day changes.
 */
export class DailyFileTransport extends Transport {
  private readonly dir: string;
  private readonly prefix: string;
  private readonly keepDays: number;
  private fd: number | undefined;
  private day = '';

  constructor(options: DailyFileOptions) {
    super(options);
    this.dir = options.dir;
    this.prefix = options.prefix;
    this.keepDays = options.keepDays;
    mkdirSync(this.dir, { recursive: true });
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const today = localDate(new Date());
    if (today !== this.day) this.openDay(today);
    writeSync(this.fd!, `${String(info[MESSAGE])}\n`);
    next();
  }

  override close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private openDay(day: string): void {
    this.close();
    this.day = day;
    this.fd = openSync(join(this.dir, `${this.prefix}-${day}.log`), 'a');
    this.deleteOldFiles();
  }

  private deleteOldFiles(): void {
    const oldest = localDate(new Date(Date.now() - this.keepDays * DAY_MS));
    const pattern = new RegExp(`^${this.prefix}-(\\d{4}-\\d{2}-\\d{2})\\.log$`);
    for (const name of readdirSync(this.dir)) {
      const day = pattern.exec(name)?.[1];
      if (day && day < oldest) rmSync(join(this.dir, name), { force: true });
    }
  }
}
