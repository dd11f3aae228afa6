import { Module } from '@nestjs/common';
import { PurchasesModule } from '../purchases/purchases.module';
import { CheckInStore } from './check-in.store';
import { TicketCodes } from './ticket-codes';
import { TicketService } from './ticket.service';

/**
 * Tickets and check-in at the door. Needs the global `Env`, `Redis` and DatabaseModule; imports
 * PurchasesModule for the purchase a ticket list belongs to.
 */
@Module({
  imports: [PurchasesModule],
  providers: [TicketCodes, CheckInStore, TicketService],
  exports: [TicketCodes, TicketService],
})
export class TicketsModule {}
