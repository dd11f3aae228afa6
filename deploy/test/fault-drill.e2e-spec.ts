import { defineFaultDrill } from './fault-drill';

/** The short variant of the fault drill that `npm test` runs: the same faults and checks, half the sale. */
defineFaultDrill({ buyers: 12, seats: 300, outageMs: 2000 });
