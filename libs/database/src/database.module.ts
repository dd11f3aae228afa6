import { Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { Env } from '@app/config';
import { dataSourceOptions } from './data-source.options';
import { openDatabase, runMigrations } from './database-bootstrap';
import { raiseDatabaseUnavailable } from './database-unavailable';
import { AdminAuditRepository } from './repositories/admin-audit.repository';
import { AttendeesRepository } from './repositories/attendees.repository';
import { AuthEventsRepository } from './repositories/auth-events.repository';
import { CashUpRepository } from './repositories/cash-up.repository';
import { AccountDeletionsRepository } from './repositories/account-deletions.repository';
import { EmailDeliveriesRepository } from './repositories/email-deliveries.repository';
import { EventRepository } from './repositories/event.repository';
import { OutboxRepository } from './repositories/outbox.repository';
import { PasswordResetTokensRepository } from './repositories/password-reset-tokens.repository';
import { EmailVerificationTokensRepository } from './repositories/email-verification-tokens.repository';
import { EmailChangeTokensRepository } from './repositories/email-change-tokens.repository';
import { AccountNoticesRepository } from './repositories/account-notices.repository';
import { PaymentAttemptsRepository } from './repositories/payment-attempts.repository';
import { PurchaseRefundsRepository } from './repositories/purchase-refunds.repository';
import { PerformanceRepository } from './repositories/performance.repository';
import { PerformanceCancellationsRepository } from './repositories/performance-cancellations.repository';
import { PerformanceReschedulesRepository } from './repositories/performance-reschedules.repository';
import { PresalesRepository } from './repositories/presales.repository';
import { PurchaseRepository } from './repositories/purchase.repository';
import { PurchaseReceiptsRepository } from './repositories/purchase-receipts.repository';
import { RefreshTokensRepository } from './repositories/refresh-tokens.repository';
import { SalesRepository } from './repositories/sales.repository';
import { SeatBlocksRepository } from './repositories/seat-blocks.repository';
import { SectionRepository } from './repositories/section.repository';
import { TicketsRepository } from './repositories/tickets.repository';
import { TicketPrintsRepository } from './repositories/ticket-prints.repository';
import { TicketResendsRepository } from './repositories/ticket-resends.repository';
import { TicketTransfersRepository } from './repositories/ticket-transfers.repository';
import { UsersRepository } from './repositories/users.repository';
import { WaitingRoomsRepository } from './repositories/waiting-rooms.repository';
import { WindowRefundsRepository } from './repositories/window-refunds.repository';
import { TransactionRunner } from './transaction-runner';

/** One repository per aggregate; the libraries with the rules use these, never raw TypeORM. */
const REPOSITORIES = [
  UsersRepository,
  RefreshTokensRepository,
  AuthEventsRepository,
  EventRepository,
  PerformanceRepository,
  PerformanceCancellationsRepository,
  PerformanceReschedulesRepository,
  PurchaseRepository,
  OutboxRepository,
  PurchaseReceiptsRepository,
  EmailDeliveriesRepository,
  PaymentAttemptsRepository,
  PurchaseRefundsRepository,
  TicketsRepository,
  AttendeesRepository,
  WaitingRoomsRepository,
  PresalesRepository,
  SalesRepository,
  SeatBlocksRepository,
  AdminAuditRepository,
  SectionRepository,
  PasswordResetTokensRepository,
  EmailVerificationTokensRepository,
  EmailChangeTokensRepository,
  AccountNoticesRepository,
  TicketTransfersRepository,
  TicketPrintsRepository,
  TicketResendsRepository,
  WindowRefundsRepository,
  CashUpRepository,
  AccountDeletionsRepository,
  TransactionRunner,
];

/** PostgreSQL through TypeORM: creates the database if missing and migrates it at start. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [Env],
      // Each failed try's line says why (openDatabase: where DATABASE_URL points), not only its stack.
      useFactory: (env: Env) => ({ ...dataSourceOptions(env), verboseRetryLog: true }),
      dataSourceFactory: async (options) => {
        const logger = new Logger('Database');
        if (!options) throw new Error('no DataSource options');
        const dataSource = await openDatabase(options as DataSourceOptions & { url: string }, raiseDatabaseUnavailable);
        const applied = await runMigrations(dataSource);
        if (applied.length > 0) logger.log(`applied migrations: ${applied.join(', ')}`);
        return dataSource;
      },
    }),
  ],
  providers: REPOSITORIES,
  exports: [TypeOrmModule, ...REPOSITORIES],
})
export class DatabaseModule {}
