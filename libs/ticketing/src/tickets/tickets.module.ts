import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { PurchasesModule } from '../purchases/purchases.module';
import { CheckInStore } from './check-in.store';
import { CheckInUndo } from './check-in-undo';
import { PrintableTickets } from './printable-tickets';
import { TicketAheadPointers } from './ticket-ahead-pointers';
import { TicketResend } from './ticket-resend';
import { TicketCodes } from './ticket-codes';
import { TicketService } from './ticket.service';
import { TicketTransferService } from './ticket-transfer.service';

/** What the module gives its importers; CheckInStore stays its own. */
const EXPORTED = [
  TicketCodes,
  TicketService,
  TicketTransferService,
  CheckInUndo,
  TicketResend,
  PrintableTickets,
  TicketAheadPointers,
];

/**
 * Tickets, check-in at the door and ticket transfer. Needs the global `Env`, `Redis` and DatabaseModule; imports
 * PurchasesModule for the purchase a ticket list belongs to, CatalogModule for what a printed ticket
 * shows of its event.
 */
@Module({
  imports: [PurchasesModule, CatalogModule],
  providers: [...EXPORTED, CheckInStore],
  exports: EXPORTED,
})
export class TicketsModule {}
