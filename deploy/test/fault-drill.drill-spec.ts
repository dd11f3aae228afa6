import { defineFaultDrill } from './fault-drill';

/** `npm run drill`: the fault drill at full scale; `DRILL_BUYERS`, `DRILL_SEATS`, `DRILL_OUTAGE_MS` change it. */
defineFaultDrill({
  buyers: Number(process.env.DRILL_BUYERS ?? 24),
  seats: Number(process.env.DRILL_SEATS ?? 600),
  outageMs: Number(process.env.DRILL_OUTAGE_MS ?? 3000),
});
