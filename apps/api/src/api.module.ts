import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { AccountDeletionService, AccountLiveState, AuthModule } from '@app/auth';
import { ConfigModule, EnvSource } from '@app/config';
import { CoreModule } from '@app/core';
import { DatabaseModule } from '@app/database';
import { MessagingModule } from '@app/messaging';
import { RedisModule, ReplicaWatch } from '@app/redis';
import {
  BuyerLiveState,
  CancellationsModule,
  CatalogModule,
  BoxOfficeModule,
  CompsModule,
  PurchasesModule,
  SalesModule,
  SeatBlocksModule,
  AuditModule,
  TicketsModule,
  WaitingRoomModule,
} from '@app/ticketing';
import { AdminPerformancesController } from './admin-performances/admin-performances.controller';
import { PresalesController } from './admin-performances/presales.controller';
import { BoxOfficeController } from './box-office/box-office.controller';
import { CashUpController } from './box-office/cash-up.controller';
import { AuthController } from './auth/auth.controller';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { QueryParamsModule } from './common/query-params.guard';
import { EventsController } from './events/events.controller';
import { PerformancesController } from './performances/performances.controller';
import { SectionsController } from './performances/sections.controller';
import { ReservationsController } from './reservations/reservations.controller';
import { PurchasesController } from './purchases/purchases.controller';
import { HealthController } from './health/health.controller';
import { HttpMetrics } from './metrics/http-metrics';
import { MetricsController } from './metrics/metrics.controller';
import { AdminUsersController } from './users/admin-users.controller';
import { UsersController } from './users/users.controller';
import { AdminPurchasesController } from './admin-purchases/admin-purchases.controller';
import { WindowRefundsController } from './window-refunds/window-refunds.controller';
import { AdminAuditController } from './admin-audit/admin-audit.controller';
import { SalesController } from './sales/sales.controller';
import { StaffController } from './staff/staff.controller';
import { TicketsController } from './tickets/tickets.controller';
import { TicketPdf } from './tickets/ticket-pdf';
import { TicketTransfersController } from './ticket-transfers/ticket-transfers.controller';
import { AdmissionEnd, AdmissionGuard } from './waiting-room/admission';
import { QueueStreams } from './waiting-room/queue-streams';
import { PerformanceQueueController, QueueTicketController } from './waiting-room/waiting-room.controller';

@Module({})
export class ApiModule {
  /** `overrides` replace single environment values (tests use their own database and prefixes). */
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(overrides),
        CoreModule,
        DatabaseModule,
        RedisModule,
        MessagingModule,
        // Its own "Health Check has failed!" error line repeated the Health warning of each probe.
        TerminusModule.forRoot({ logger: false }),
        AuthModule,
        CatalogModule,
        PurchasesModule,
        TicketsModule,
        WaitingRoomModule,
        SalesModule,
        CancellationsModule,
        SeatBlocksModule,
        CompsModule,
        BoxOfficeModule,
        AuditModule,
        // Last: Nest runs the global guards in the order their modules were scanned, and the
        // query's check comes after who is asking (AuthModule's access guard).
        QueryParamsModule,
      ],
      controllers: [
        HealthController,
        MetricsController,
        AuthController,
        UsersController,
        EventsController,
        PerformancesController,
        SectionsController,
        ReservationsController,
        PurchasesController,
        TicketsController,
        TicketTransfersController,
        StaffController,
        AdminUsersController,
        PerformanceQueueController,
        QueueTicketController,
        SalesController,
        AdminPurchasesController,
        WindowRefundsController,
        AdminPerformancesController,
        PresalesController,
        BoxOfficeController,
        CashUpController,
        AdminAuditController,
      ],
      providers: [
        HttpMetrics,
        AdmissionGuard,
        AdmissionEnd,
        QueueStreams,
        TicketPdf,
        ReplicaWatch,
        // Deleting an account needs both the accounts' library and the ticketing one's Redis state.
        { provide: AccountLiveState, useExisting: BuyerLiveState },
        AccountDeletionService,
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
