import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Lines waiting beyond this many UTF-16 code units (~1 MiB of ASCII) are written at once. */
const MAX_PENDING_CHARS = 1 << 20;

/** Files with queued lines; written out when the process exits (normally or by process.exit). */
const open = new Set<DailyFile>();
process.on('exit', () => {
  for (const file of open) file.flushOrReport();
});

function localDate(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** The epoch milliseconds of the next local midnight after `at`. */
function nextMidnight(at: Date): number {
  return new Date(at.getFullYear(), at.getMonth(), at.getDate() + 1).getTime();
}

export interface DailyFileOptions {
  dir: string;
  /** Files are `<prefix>-<YYYY-MM-DD>.log`, by local date. */
  prefix: string;
  keepDays: number;
}

/**
 * One log file per local day, appended to in batches: `append()` only queues the line, and the
 * lines queued during one turn of the event loop are written together, with one `write(2)`, right
 * after it (`setImmediate`). At most ~1 MiB waits; beyond that the queue is written at once. What
 * is queued is written on `flush()`, `close()` and when the process exits — but a SIGKILL loses
 * the lines of the current turn (Nginx's own access log covers a deployment). Files older than
 * `keepDays` are deleted when the day changes. A line goes to the file of the day it is written.
 */
export class DailyFile {
  private readonly dir: string;
  private readonly prefix: string;
  private readonly keepDays: number;
  private fd: number | undefined;
  /** Epoch milliseconds at which the open file's day ends. */
  private dayEndsAt = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private readonly flushSoon = () => {
    this.scheduled = false;
    open.delete(this);
    this.flushOrReport();
  };

  constructor(options: DailyFileOptions) {
    this.dir = options.dir;
    this.prefix = options.prefix;
    this.keepDays = options.keepDays;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Queues one line (without its newline). */
  append(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= MAX_PENDING_CHARS) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      open.add(this);
      setImmediate(this.flushSoon);
    }
  }

  /** Writes every queued line now, synchronously; on failure they are dropped and it throws. */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    const now = Date.now();
    if (now >= this.dayEndsAt) this.openDay(new Date(now));
    writeSync(this.fd!, text);
  }

  /** `flush()`, telling stderr when it fails rather than crashing the process over a log file. */
  flushOrReport(): void {
    try {
      this.flush();
    } catch (error) {
      process.stderr.write(`log lines for ${join(this.dir, this.prefix)} lost: ${String(error)}\n`);
    }
  }

  close(): void {
    this.flush();
    open.delete(this);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.dayEndsAt = 0;
  }

  private openDay(at: Date): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.dayEndsAt = nextMidnight(at);
    this.fd = openSync(join(this.dir, `${this.prefix}-${localDate(at)}.log`), 'a');
    this.deleteOldFiles(at);
  }

  private deleteOldFiles(at: Date): void {
    const oldest = localDate(new Date(at.getTime() - this.keepDays * DAY_MS));
    const pattern = new RegExp(`^${this.prefix}-(\\d{4}-\\d{2}-\\d{2})\\.log$`);
    for (const name of readdirSync(this.dir)) {
      const day = pattern.exec(name)?.[1];
      if (day && day < oldest) rmSync(join(this.dir, name), { force: true });
    }
  }
}
