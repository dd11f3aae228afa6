import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError, ConfigModule } from '@app/config';
import { CoreModule } from '@app/core';
import { DatabaseModule, EventRepository } from '@app/database';
import { RedisModule } from '@app/redis';
import { CatalogModule, EventService, PerformanceService } from '@app/ticketing';
import { layoutFor } from './demo-layout';

const USAGE = `usage: npm run seed -- [--events N] [--seats M] [--performances P] [--if-empty]
  --events N        events to create (default 3)
  --seats M         seats per performance, rounded to whole rows (default 2000)
  --performances P  performances per event (default 2)
  --if-empty        do nothing when the database already has events (npm start uses this)`;

const ARTISTS = ['IU', 'BTS', 'Coldplay', 'Taylor Swift', 'NewJeans', 'Seoul Philharmonic', 'Radiohead', 'BLACKPINK'];
const VENUES = [
  'Seoul Olympic Stadium',
  'KSPO Dome',
  'Gocheok Sky Dome',
  'Busan Asiad Stadium',
  'Incheon Munhak Stadium',
];

@Module({ imports: [ConfigModule.forRoot(), CoreModule, DatabaseModule, RedisModule, CatalogModule] })
class SeedModule {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '3' },
      seats: { type: 'string', default: '2000' },
      performances: { type: 'string', default: '2' },
      'if-empty': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const events = Number(values.events);
  const seats = Number(values.seats);
  const performances = Number(values.performances);
  if (values.help || ![events, seats, performances].every((n) => Number.isInteger(n) && n > 0) || seats > 100_000) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }

  const app = await NestFactory.createApplicationContext(SeedModule, { logger: ['error', 'warn'] });
  try {
    if (values['if-empty'] && (await app.get(EventRepository).pageAfter(0, 1)).length > 0) {
      console.log('seed: the database already has events, nothing to do');
      return;
    }
    const eventService = app.get(EventService);
    const performanceService = app.get(PerformanceService);
    const bar = new SingleBar(
      { format: 'seeding [{bar}] {percentage}% | {value}/{total} performances | {seats} seats' },
      Presets.shades_classic,
    );
    bar.start(events * performances, 0, { seats: 0 });
    let created = 0;
    for (let e = 0; e < events; e += 1) {
      const artist = ARTISTS[e % ARTISTS.length];
      const event = await eventService.createEvent({
        title: `${artist} Live ${2027 + Math.floor(e / ARTISTS.length)}`,
        description: `${artist} in concert. Demo data made by npm run seed.`,
        venue: VENUES[e % VENUES.length],
        // The venues are in Korea: times in the answers and e-mails read as local ones.
        timeZone: 'Asia/Seoul',
      });
      for (let p = 0; p < performances; p += 1) {
        const startsAt = new Date(Date.now() + (30 + e * 7 + p) * 86_400_000);
        const performance = await performanceService.createPerformance(event.id, {
          startsAt,
          salesOpenAt: new Date(),
          sections: layoutFor(seats),
        });
        created += performance.totalSeats;
        bar.increment(1, { seats: created });
      }
    }
    bar.stop();
    console.log(`seed: ${events} events, ${events * performances} performances, ${created} seats`);
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  new Logger('Seed').error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
