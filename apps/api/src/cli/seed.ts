import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError, ConfigModule } from '@app/config';
import { Clock, CoreModule } from '@app/core';
import { DatabaseModule, EventRepository } from '@app/database';
import { RedisModule } from '@app/redis';
import { CatalogModule, EventService, PerformanceService } from '@app/ticketing';
import { layoutFor } from './demo-layout';
import { parseSeedOptions, SEED_USAGE, seedSummary } from './seed-options';

const ARTISTS = ['IU', 'BTS', 'Coldplay', 'Taylor Swift', 'NewJeans', 'Seoul Philharmonic', 'Radiohead', 'BLACKPINK'];
const VENUES = [
  'Seoul Olympic Stadium',
  'KSPO Dome',
  'Gocheok Sky Dome',
  'Busan Asiad Stadium',
  'Incheon Munhak Stadium',
];

/**
 * Who the audit rows of the demo data name (`admin_audit_log` needs an actor; no operator acts):
 * the nil uuid, no user's, and this name instead of an e-mail.
 */
const SEED_ACTOR = { id: '00000000-0000-0000-0000-000000000000', email: 'seed' };

@Module({ imports: [ConfigModule.forRoot(), CoreModule, DatabaseModule, RedisModule, CatalogModule] })
class SeedModule {}

async function main(): Promise<void> {
  const options = parseSeedOptions(process.argv.slice(2));
  if ('error' in options) {
    console.error(`seed: ${options.error}`);
    console.log(SEED_USAGE);
    process.exit(2);
  }
  if (options.help) {
    console.log(SEED_USAGE);
    process.exit(0);
  }
  const { events, seats, performances } = options;

  const app = await NestFactory.createApplicationContext(SeedModule, { logger: ['error', 'warn'] });
  try {
    if (options.ifEmpty && (await app.get(EventRepository).pageAfter(0, 1)).length > 0) {
      console.log('seed: the database already has events, nothing to do');
      return;
    }
    const clock = app.get(Clock);
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
      const event = await eventService.createEvent(
        {
          title: `${artist} Live ${2027 + Math.floor(e / ARTISTS.length)}`,
          description: `${artist} in concert. Demo data made by npm run seed.`,
          venue: VENUES[e % VENUES.length],
          // The venues are in Korea: times in the answers and e-mails read as local ones.
          timeZone: 'Asia/Seoul',
        },
        SEED_ACTOR,
      );
      for (let p = 0; p < performances; p += 1) {
        const startsAt = new Date(clock.nowMs() + (30 + e * 7 + p) * 86_400_000);
        const performance = await performanceService.createPerformance(
          event.id,
          { startsAt, salesOpenAt: clock.now(), sections: layoutFor(seats) },
          SEED_ACTOR,
        );
        created += performance.totalSeats;
        bar.increment(1, { seats: created });
      }
    }
    bar.stop();
    console.log(seedSummary(events, events * performances, created));
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  new Logger('Seed').error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
