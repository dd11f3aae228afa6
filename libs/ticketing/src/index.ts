export {
  AdmissionRequiredError,
  DomainError,
  HoldExpiredError,
  HoldLimitExceededError,
  TicketLimitExceededError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  InvalidInputError,
  NotFoundError,
  ChargeOutcomeUnknownError,
  SeatingUpgradingError,
  PaymentDeclinedError,
  PerformanceCancelNotReplicatedError,
  PurchaseCanceledError,
  PurchaseTransferredError,
  CompCancelError,
  QueueTicketEndedError,
  SalesClosedError,
  SalesNotOpenError,
  AccessCodeInvalidError,
  PresaleAllocationExhaustedError,
  PresaleNotOpenError,
  TooManyAccessCodeAttemptsError,
  SeatBlocksNotReplicatedError,
  SeatsNotBlockableError,
  SeatsUnavailableError,
  SingleSeatLeftError,
  NoSeatsFitError,
} from './errors';
export type { DomainErrorKind } from './errors';
export { TicketingModule } from './ticketing.module';
export { SeatStateStore } from './seats/seat-state.store';
export type { PerformanceRegistration, SeatCounts } from './seats/seat-state.store';
export type { SeatStatus } from './seats/seat-status';
export { SEATING_FORMAT } from './seats/seating-layout';
export { HoldService } from './holds/hold.service';
export {
  MAX_PRESALES_PER_PERFORMANCE,
  PRESALE_CREATE_ACTION,
  PRESALE_DELETE_ACTION,
  PRESALE_MAX_SEATS_LIMIT,
  PRESALE_NAME_MAX,
  PRESALE_UPDATE_ACTION,
  PresaleService,
} from './presales/presales';
export type { NewPresale, Presale, PresaleWithSeats } from './presales/presales';
export {
  ACCESS_CODE_PATTERN,
  accessCodeDigest,
  PRESALE_CODE_PATTERN,
  PRESALE_MISS_LIMIT,
  PRESALE_MISS_WINDOW_MS,
} from './presales/access-code';
export { HoldStore } from './holds/hold.store';
export { HoldDesk } from './holds/hold-desk';
export { HOLD_RETENTION_MS } from './holds/hold';
export type { Hold, HoldEndReason, HoldStatus } from './holds/hold';
export { HoldSweeper } from './holds/hold-sweeper';
export { HoldSweepStore } from './holds/hold-sweep.store';
export { ARRANGEMENTS } from './holds/best-available-scripts';
export type { Arrangement, SeatScope } from './holds/best-available-scripts';
export {
  holdPointerKey,
  idempotencyKey,
  performanceKeys,
  PERFORMANCE_REGISTRY_KEY,
  purchasePointerKey,
  sandboxChargeKey,
  userPurchasesKey,
} from './redis-keys';
export type { PerformanceKeys } from './redis-keys';
export { CatalogModule } from './catalog/catalog.module';
export {
  EVENT_CREATE_ACTION,
  EVENT_DELETE_ACTION,
  EVENT_UPDATE_ACTION,
  EventService,
  MAX_EVENT_SEARCH_LENGTH,
} from './catalog/event.service';
export type { EventQuery } from './catalog/event.service';
export {
  MAX_SEATS_PER_PERFORMANCE,
  MAX_TICKETS_PER_BUYER,
  PERFORMANCE_CHANGE_FIELDS,
  PERFORMANCE_CREATE_ACTION,
  PERFORMANCE_DELETE_ACTION,
  PERFORMANCE_UPDATE_ACTION,
  PerformanceService,
} from './catalog/performance.service';
export { SALES_STATES, salesStateAt } from './catalog/sales-state';
export type { SalesState } from './catalog/sales-state';
export { SeatPageService } from './catalog/seat-page.service';
export { buildSeatMap, SEAT_MAP_MAX_SEATS, SeatMapService } from './catalog/seat-map.service';
export type { LiveSeatMap, MapBounds, MapRow, MapSeat, MapSection, SeatMap } from './catalog/seat-map.service';
export { SectionService } from './catalog/section.service';
export type { Section, SectionAvailability } from './catalog/section.service';
export { SECTION_PRICE_ACTION } from './catalog/section-rules';
export { MAX_PRICE } from './catalog/seat-filter';
export type { SeatFilter } from './catalog/seat-filter';
export { SEAT_BLOCK_SIZE } from './catalog/catalog-copies';
export { BookingDescriber } from './catalog/booking-details';
export type { Booking, BookingDetails, Described } from './catalog/booking-details';
export { SeatStateRebuilder } from './seats/seat-state-rebuilder';
export { RELEASE_SETTLE_SECONDS, SEAT_RECONCILER_ACTOR, SeatReconciler } from './seats/seat-reconciler';
export type { PerformanceReconciliation, SeatRepair, SeatRepairKind } from './seats/seat-reconciler';
export type {
  CatalogEvent,
  DatedEvent,
  LiveSeatCounts,
  Page,
  MapPoint,
  Performance,
  PresaleListing,
  SeatListing,
  SeatPage,
  SeatRef,
  SectionInput,
} from './catalog/catalog.types';
export {
  DEFAULT_AISLE,
  DEFAULT_FOCAL_POINT,
  DEFAULT_ROW_SPACING,
  DEFAULT_SEAT_PITCH,
  generateLayout,
  MAX_QUALITY,
  MAX_ROW_LABEL_LENGTH,
  rowLabel,
} from './catalog/seat-layout';
export type { SectionGeometry } from './catalog/seat-layout';
export {
  ApprovingPaymentGateway,
  DecliningPaymentGateway,
  partialRefundIdempotencyKey,
  PaymentGateway,
  refundIdempotencyKey,
} from './purchases/payment-gateway';
export { PAYMENT_TOKEN_PATTERN, PAYMENT_TOKEN_RULE } from './purchases/payment-token';
export { PaymentOutcomeUnknownError, SANDBOX_TOKENS, SandboxPaymentGateway } from './purchases/sandbox-payment-gateway';
export { PaymentReconciler } from './purchases/payment-reconciler';
export type { ReconcileOutcome } from './purchases/payment-reconciler';
export type { ChargeLookup, ChargeRequest, RefundRequest } from './purchases/payment-gateway';
export { PurchaseService } from './purchases/purchase.service';
export { PurchaseReader } from './purchases/purchase-reader';
export { BuyerLiveState } from './purchases/buyer-live-state';
export { PurchaseCancellation } from './purchases/purchase-cancellation';
export type { CanceledPurchase, SeatsRefunded } from './purchases/purchase-cancellation';
export {
  claimRenewalMs,
  digestOfKey,
  digestOfPaymentToken,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  newClaim,
} from './purchases/idempotency';
export type { Purchase, PurchaseStatus } from './purchases/purchase';
export { saleChannelOf } from './purchases/purchase';
export { PurchaseFlusher } from './purchases/purchase-flusher';
export { FLUSH_GROUP, PurchaseFlushStore } from './purchases/purchase-flush.store';
export type { FlushOptions } from './purchases/purchase-flusher';
export { PurchasesModule } from './purchases/purchases.module';
export { CancellationsModule } from './cancellations/cancellations.module';
export { BulkRefund } from './cancellations/bulk-refund';
export type { BulkRefundStep } from './cancellations/bulk-refund';
export {
  MAX_CANCELLATION_REASON_LENGTH,
  PERFORMANCE_CANCEL_ACTION,
  PerformanceCancellations,
} from './cancellations/performance-cancellations';
export type { CancellationProgress } from './cancellations/performance-cancellations';
export { NotificationsModule } from './notifications/notifications.module';
export { Mailer, MailMaybeSentError } from './notifications/mailer.port';
export type { EmailAttachment, MailStream, OutgoingEmail } from './notifications/mailer.port';
export {
  PartialRefundNotWrittenError,
  PurchaseMailService,
  PurchaseNotPersistedError,
} from './notifications/purchase-mail.service';
export type { DeliveryOutcome } from './notifications/purchase-mail.service';
export { PasswordResetMailService } from './notifications/password-reset-mail.service';
export type { PasswordResetDeliveryOutcome } from './notifications/password-reset-mail.service';
export { EmailVerificationMailService } from './notifications/email-verification-mail.service';
export { EmailChangeMailService } from './notifications/email-change-mail.service';
export { AccountNoticeMailService } from './notifications/account-notice-mail.service';
export type { AccountNoticeOutcome } from './notifications/account-notice-mail.service';
export { PaymentRefundedMailService } from './notifications/payment-refunded-mail.service';
export type { PaymentRefundedOutcome } from './notifications/payment-refunded-mail.service';
export { TicketTransferMailService } from './notifications/ticket-transfer-mail.service';
export type { TransferMailOutcome } from './notifications/ticket-transfer-mail.service';
export type { TokenMailOutcome } from './notifications/token-mail';
export { RescheduleNotices, RescheduleNoticesModule } from './notifications/reschedule-notices';
export {
  formatAmount,
  formatSeat,
  formatStartTime,
  renderPurchaseEmail,
} from './notifications/purchase-email.template';
export type { EmailTicket } from './notifications/purchase-email.template';
export type { RenderedEmail } from './notifications/email-layout';
export { renderTicketQr } from './notifications/ticket-qr';
export {
  canonicalTimeZone,
  formatLocalDateTime,
  formatLocalInstant,
  formatWallClock,
  MAX_TIME_ZONE_LENGTH,
  offsetMinutesAt,
  parseDateTime,
  parseScheduleTime,
  scheduleWindowMessage,
  toDateTime,
  toScheduleTime,
  toTimeZone,
  timeZoneRefusal,
  LOCAL_DATE_TIME_PATTERN,
  parseLocalDateTime,
  resolveWallClock,
  toLocalDateTime,
} from './date-time';
export { isUuid } from './input';
export { fitsId, idWithPerformance, MAX_ID_PERFORMANCE, newIdOf, performanceOfId } from './ids';
export { TicketsModule } from './tickets/tickets.module';
export { TICKET_CODE_LENGTH, TicketCodes } from './tickets/ticket-codes';
export { TicketService } from './tickets/ticket.service';
export type { CheckIn, Ticket } from './tickets/ticket.service';
export { PrintableTickets, TICKET_PRINT_LIMIT } from './tickets/printable-tickets';
export type { PrintableTicket, PrintCaller } from './tickets/printable-tickets';
export { CHECK_IN_UNDO_ACTION, CheckInUndo } from './tickets/check-in-undo';
export type { CheckInUndoActor, UndoneCheckIn } from './tickets/check-in-undo';
export {
  TICKET_RESEND_ACTION,
  TICKET_RESEND_LIMIT,
  TicketResend,
  TICKETS_RESEND_ACTION,
} from './tickets/ticket-resend';
export type { QueuedResend, QueuedTicketResend } from './tickets/ticket-resend';
export {
  checkInSettingsOf,
  checkInStateAt,
  checkInWindowOf,
  checkInWindowSettings,
  MAX_CHECK_IN_WINDOW_MINUTES,
} from './tickets/check-in-window';
export type { CheckInWindow, CheckInWindowSettings, CheckInWindowState } from './tickets/check-in-window';
export {
  CheckInClosedError,
  CheckInNotOpenError,
  InvalidTicketCodeError,
  TicketAlreadyCheckedInError,
  TicketCanceledError,
  TicketForAnotherPerformanceError,
  TicketNotWrittenYetError,
  TicketsNotIssuedError,
  TicketTransferredError,
  TicketCheckedInError,
  PerformanceStartedError,
  TransferPendingError,
  TransferToSelfError,
  TransferLimitReachedError,
  TooManyTransferOffersError,
  TransferNotPendingError,
  TicketNotCheckedInError,
  CheckInUndoForbiddenError,
  NoTicketsToSendError,
  TooManyTicketPrintsError,
  TooManyTicketResendsError,
  CanceledPurchaseTicketsError,
  NoTicketsToPrintError,
} from './tickets/ticket.errors';
export { TicketTransferService, TRANSFER_MARK_LIFETIME_SECONDS } from './tickets/ticket-transfer.service';
export type { HeldTicket, TransferPage } from './tickets/ticket-transfer.service';
export { MAX_CODE_VERSION, REISSUED_TICKET_CODE_LENGTH } from './tickets/ticket-codes';
export { WaitingRoomModule } from './waiting-room/waiting-room.module';
export {
  WAITING_ROOM_DELETE_ACTION,
  WAITING_ROOM_UPDATE_ACTION,
  WaitingRoomService,
} from './waiting-room/waiting-room.service';
export { WaitingRoomStore } from './waiting-room/waiting-room.store';
export type { RawTicket, TicketEnding } from './waiting-room/waiting-room.store';
export { AdmissionGate } from './waiting-room/admission-gate';
export { AdmissionTokens } from './waiting-room/admission-token';
export type { AdmissionClaims } from './waiting-room/admission-token';
export { newShuffleSeed, SeedStream, seedCommitment, shuffledArrivals } from './waiting-room/shuffle';
export { WAITING_ROOM_REGISTRY_KEY, waitingRoomKeys } from './waiting-room/waiting-room-keys';
export type { WaitingRoomKeys } from './waiting-room/waiting-room-keys';
export type {
  AdmissionHalt,
  AdmissionStep,
  QueueTicket,
  StoredWaitingRoom,
  TicketEndReason,
  TicketStatus,
  WaitingRoomFigures,
  WaitingRoomSettings,
  WaitingRoomView,
} from './waiting-room/waiting-room.types';
export { SalesModule } from './sales/sales.module';
export { AdminAuditLog, auditedActions } from './audit/admin-audit-log';
export { AuditModule } from './audit/audit.module';
export { SalesReportService } from './sales/sales-report.service';
export { DoorCounts } from './sales/door-counts';
export type { DoorCount } from './sales/door-counts';
export { ATTENDEE_PAGE_SIZE, ATTENDEES_EXPORT_ACTION, AttendeeList } from './sales/attendee-list';
export type { EventSalesReport, PerformanceSalesReport } from './sales/sales-report.service';
export type { SalesFigures, SalesReport, SectionSales } from './sales/sales-report';
export { AdminPurchases, PRESALE_ID, REFUND_ACTION, refundMethodOf } from './purchases/admin-purchases';
export { WINDOW_REFUND_PAID_ACTION, WindowRefunds } from './purchases/window-refunds';
export {
  COMP_ISSUE_ACTION,
  CompPerformanceStartedError,
  CompService,
  MAX_COMP_GUEST_NAME_LENGTH,
  MAX_COMP_NOTE_LENGTH,
  MAX_SEATS_PER_COMP,
  RecipientNotFoundError,
} from './comps/comps';
export type { CompGuest, CompRequest, RecipientMissing } from './comps/comps';
export { CompsModule } from './comps/comps.module';
export {
  BOX_OFFICE_SALE_ACTION,
  BoxOfficeClosedError,
  BoxOfficeService,
  MAX_BOX_OFFICE_NAME_LENGTH,
  MAX_SEATS_PER_BOX_OFFICE_SALE,
} from './box-office/box-office';
export type { BoxOfficeSale, BoxOfficeSaleRequest, BoxOfficeTicket } from './box-office/box-office';
export { BoxOfficeModule } from './box-office/box-office.module';
export { CashUpOfOtherClerkError, CashUpService, cashUpOf, MAX_CASH_UP_RANGE_MS } from './box-office/cash-up';
export type { CashUp, CashUpCaller, CashUpFigures, ClerkCashUp } from './box-office/cash-up';
export type { Operator, RefundMethod } from './purchases/admin-purchases';
export { SeatBlocksModule } from './blocks/seat-blocks.module';
export { SeatBlockStore } from './blocks/seat-block.store';
export {
  BLOCK_WORK_PER_ROW,
  MAX_BLOCK_SELECTION_WORK,
  MAX_ROWS_PER_BLOCK_SELECTION,
  MAX_SEAT_BLOCK_REASON_LENGTH,
  MAX_SEATS_PER_BLOCK_REQUEST,
  MAX_SEATS_PER_BLOCK_SELECTION,
  SEAT_BLOCK_ACTION,
  SEAT_RELEASE_ACTION,
  SeatBlocks,
} from './blocks/seat-blocks';
export type {
  BlockOptions,
  BlockResult,
  ReleaseResult,
  SeatBlockTarget,
  SeatPlaceSelection,
} from './blocks/seat-blocks';
