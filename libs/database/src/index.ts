export { DatabaseModule } from './database.module';
export { dataSourceOptions } from './data-source.options';
export {
  databaseAddress,
  DatabaseConnectError,
  ensureDatabase,
  MIGRATION_LOCK_KEY,
  openDatabase,
  revertLastMigration,
  runMigrations,
} from './database-bootstrap';
export type { RevertTransaction } from './database-bootstrap';
export { ENTITIES } from './entities';
export { EventEntity } from './entities/event.entity';
export { PERFORMANCE_STATUSES, PerformanceEntity } from './entities/performance.entity';
export type { PerformanceStatus } from './entities/performance.entity';
export { SeatEntity } from './entities/seat.entity';
export { EventRepository } from './repositories/event.repository';
export type {
  EventChanges,
  EventDates,
  EventDeletion,
  EventFields,
  EventSearch,
} from './repositories/event.repository';
export {
  EventTimeZoneChangedError,
  eventOfPerformance,
  PerformanceRepository,
} from './repositories/performance.repository';
export type { ReadTransaction } from './repositories/performance.repository';
export type {
  NewPerformance,
  PerformanceDeletion,
  PerformanceLifecycleChanges,
  EventOfPerformance,
  PricedPerformance,
  MapSeatRow,
  SeatRow,
  SeatGroupRow,
  SeatPlaceRow,
  SectionLayout,
} from './repositories/performance.repository';
export { Batcher } from './batcher';
export type { BatcherOptions } from './batcher';
export { PerformanceCancellationsRepository } from './repositories/performance-cancellations.repository';
export type {
  CancellationFigures,
  RefundPass,
  PaidPurchaseRef,
  PerformanceCancellationRecord,
} from './repositories/performance-cancellations.repository';
export { PerformanceReschedulesRepository } from './repositories/performance-reschedules.repository';
export type { RescheduleNoticeStep } from './repositories/performance-reschedules.repository';
export { SeatBlocksRepository } from './repositories/seat-blocks.repository';
export type {
  CompBlocksChange,
  DroppedSeatBlock,
  FreeSeatBlockChange,
  SeatBlockChange,
  SeatBlockRecord,
  SeatIdsWork,
  SeatsAtPlace,
  SectionRowLabel,
} from './repositories/seat-blocks.repository';
export {
  PRESALE_DELETE_ACTION,
  presaleNameSql,
  PresalesRepository,
  PresaleWrites,
} from './repositories/presales.repository';
export type { PresalePerformance, PresaleRecord } from './repositories/presales.repository';
export { TransactionRunner } from './transaction-runner';
export { DatabaseUnavailableError } from './database-unavailable';
export {
  FOREIGN_KEY_VIOLATION,
  refusedForGood,
  secondActiveTicketSeat,
  sqlStateOf,
  translatingConstraintViolations,
  UNIQUE_VIOLATION,
} from './constraint-violations';
export { AuthEventEntity, AuthEventType } from './entities/auth-event.entity';
export { RefreshTokenEntity } from './entities/refresh-token.entity';
export { Role, UserEntity } from './entities/user.entity';
export { AuthEventsRepository } from './repositories/auth-events.repository';
export { RefreshTokensRepository } from './repositories/refresh-tokens.repository';
export type { NewRefreshToken } from './repositories/refresh-tokens.repository';
export { UsersRepository } from './repositories/users.repository';
export { PasswordResetRequestEntity } from './entities/password-reset-request.entity';
export { PasswordResetTokenEntity } from './entities/password-reset-token.entity';
export { PasswordResetTokensRepository } from './repositories/password-reset-tokens.repository';
export type { NewPasswordReset } from './repositories/password-reset-tokens.repository';
export type { SingleUseTokenRequest } from './repositories/single-use-tokens';
export { EmailVerificationTokenEntity } from './entities/email-verification-token.entity';
export { EmailVerificationTokensRepository } from './repositories/email-verification-tokens.repository';
export type { EmailVerificationIssue, NewEmailVerification } from './repositories/email-verification-tokens.repository';
export { EmailChangeTokenEntity } from './entities/email-change-token.entity';
export { EmailChangeTokensRepository } from './repositories/email-change-tokens.repository';
export type {
  EmailChangeHolder,
  EmailChangeIssue,
  NewEmailChange,
} from './repositories/email-change-tokens.repository';
export { AccountNoticesRepository } from './repositories/account-notices.repository';
export type { AccountNoticeKind, NewAccountNotice } from './repositories/account-notices.repository';
export type { NewUser } from './repositories/users.repository';
export { BOX_OFFICE_PAYMENT_METHODS, PurchaseEntity, PurchaseStatus } from './entities/purchase.entity';
export type { BoxOfficePaymentMethod, SaleChannel } from './entities/purchase.entity';
export { TicketEntity, TicketStatus } from './entities/ticket.entity';
export { OutboxMessageEntity } from './entities/outbox-message.entity';
export { EmailDeliveryEntity } from './entities/email-delivery.entity';
export { PurchaseRepository } from './repositories/purchase.repository';
export type { PurchaseCancellation, PurchaseFlushBatch, PurchaseRecord } from './repositories/purchase.repository';
export { OutboxRepository } from './repositories/outbox.repository';
export type { PendingOutboxMessage } from './repositories/outbox.repository';
export { EmailDeliveriesRepository } from './repositories/email-deliveries.repository';
export type { DeliveryClaim } from './repositories/email-deliveries.repository';
export { PurchaseReceiptsRepository } from './repositories/purchase-receipts.repository';
export type {
  PurchaseReceipt,
  ReceiptSeat,
  ReceiptTicket,
  TicketHolderFacts,
} from './repositories/purchase-receipts.repository';
export { PaymentAttemptEntity, PaymentAttemptStatus } from './entities/payment-attempt.entity';
export { PaymentAttemptsRepository } from './repositories/payment-attempts.repository';
export { PurchaseRefundsRepository, writePartialRefunds } from './repositories/purchase-refunds.repository';
export { WindowRefundsRepository } from './repositories/window-refunds.repository';
export type { MarkWindowRefundPaid, WindowRefund, WindowRefundStatus } from './repositories/window-refunds.repository';
export type { OwedPurchaseRefund, PurchaseRefund } from './repositories/purchase-refunds.repository';
export type {
  ClaimedPaymentAttempt,
  NewPaymentAttempt,
  BegunPaymentAttempt,
  OpenAttemptFigures,
  RecheckFigures,
  OpenPaymentAttempt,
  RecheckedPaymentAttempt,
} from './repositories/payment-attempts.repository';
export { TicketsRepository } from './repositories/tickets.repository';
export { TicketTransferEntity, TicketTransferStatus } from './entities/ticket-transfer.entity';
export {
  cancelPendingTransfersOfPurchases,
  TicketTransfersRepository,
} from './repositories/ticket-transfers.repository';
export type {
  AcceptMarkScope,
  AcceptResult,
  AcceptUnreachableSeats,
  CancelTransferResult,
  DeclineTransferResult,
  NewTicketTransfer,
  OfferResult,
  TicketTransferRecord,
  TransferCancelReason,
  TransferMailFacts,
  HolderMailFacts,
} from './repositories/ticket-transfers.repository';
export type {
  CheckedInSeat,
  CheckedInBy,
  CheckInToClear,
  CheckInHolder,
  CheckInResult,
  CheckInWindowBounds,
  TicketCheckInState,
  TicketIdentity,
  TicketRecord,
} from './repositories/tickets.repository';
export { AttendeesRepository } from './repositories/attendees.repository';
export type { AttendeeRecord } from './repositories/attendees.repository';
export { WaitingRoomEntity } from './entities/waiting-room.entity';
export { WaitingRoomsRepository, WaitingRoomWrites } from './repositories/waiting-rooms.repository';
export type { RoomPerformance, WaitingRoomFields } from './repositories/waiting-rooms.repository';
export { PERFORMANCE_PURCHASES_SQL, SalesRepository } from './repositories/sales.repository';
export {
  ACCOUNT_DELETE_ACTION,
  accountSubject,
  AdminAuditRepository,
  recordAuditIn,
  STAFF_CREATE_ACTION,
  STAFF_GRANT_ACTION,
  STAFF_REVOKE_ACTION,
} from './repositories/admin-audit.repository';
export { TicketPrintsRepository } from './repositories/ticket-prints.repository';
export { TicketResendsRepository } from './repositories/ticket-resends.repository';
export type { TicketResendQueued, TicketResendRequest } from './repositories/ticket-resends.repository';
export type { AdminAuditFilter, AdminAuditRecord, NewAdminAudit } from './repositories/admin-audit.repository';
export { AdminAuditEntity } from './entities/admin-audit.entity';
export type {
  DoorCountPending,
  DoorCountRow,
  DoorCountRows,
  PerformanceSalesRows,
  SalesCheckIn,
  SalesPurchase,
  SalesSeat,
  WindowPartialRefund,
} from './repositories/sales.repository';
export { SectionRepository } from './repositories/section.repository';
export type { PriceChange, PriceChangeSubject, SectionRow } from './repositories/section.repository';
export { CashUpRepository } from './repositories/cash-up.repository';
export {
  AccountDeletionsRepository,
  deletedAccountEmail,
  OBLIGATIONS_LISTED,
} from './repositories/account-deletions.repository';
export type { AccountObligations, AccountToDelete } from './repositories/account-deletions.repository';
export type {
  CashUpActions,
  CashUpClerk,
  CashUpQuery,
  CashUpRefund,
  CashUpRows,
  CashUpSale,
} from './repositories/cash-up.repository';
