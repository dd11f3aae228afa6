export {
  AdmissionRequiredError,
  DomainError,
  HoldExpiredError,
  HoldLimitExceededError,
  HoldPurchasedError,
  HoldReleasedError,
  IdempotencyKeyInUseError,
  InvalidInputError,
  NotFoundError,
  PaymentDeclinedError,
  PurchaseCanceledError,
  SalesClosedError,
  SalesNotOpenError,
  SeatsUnavailableError,
} from './errors';
export type { DomainErrorKind } from './errors';
export { TicketingModule } from './ticketing.module';
export { SeatStateStore } from './seats/seat-state.store';
export type { PerformanceRegistration, SeatCounts } from './seats/seat-state.store';
export type { SeatStatus } from './seats/seat-status';
export { HoldService, HOLD_RETENTION_MS } from './holds/hold.service';
export type { Hold, HoldStatus } from './holds/hold';
export { HoldSweeper } from './holds/hold-sweeper';
export {
  holdPointerKey,
  idempotencyKey,
  performanceKeys,
  PERFORMANCE_REGISTRY_KEY,
  purchasePointerKey,
  userPurchasesKey,
} from './redis-keys';
export type { PerformanceKeys } from './redis-keys';
export { CatalogModule } from './catalog/catalog.module';
export { CatalogService, MAX_SEATS_PER_PERFORMANCE, SEAT_BLOCK_SIZE } from './catalog/catalog.service';
export type { EventView, Page, PerformanceView, SeatListing, SeatPage, SectionInput } from './catalog/catalog.types';
export { ReservationService } from './reservations/reservation.service';
export { ApprovingPaymentGateway, DecliningPaymentGateway, PaymentGateway } from './purchases/payment-gateway';
export { PaymentReconciler } from './purchases/payment-reconciler';
export type { ReconcileOutcome } from './purchases/payment-reconciler';
export type { ChargeRequest } from './purchases/payment-gateway';
export { PurchaseService } from './purchases/purchase.service';
export {
  digestOfKey,
  IDEMPOTENCY_CLAIM_LEASE_MS,
  IDEMPOTENCY_CLAIM_RENEW_MS,
  IDEMPOTENCY_RETRY_AFTER_SECONDS,
  newClaim,
} from './purchases/idempotency';
export type { Purchase, PurchaseStatus } from './purchases/purchase';
export { FLUSH_GROUP, PurchaseFlusher } from './purchases/purchase-flusher';
export type { FlushOptions } from './purchases/purchase-flusher';
export { PurchasesModule } from './purchases/purchases.module';
export { NotificationsModule } from './notifications/notifications.module';
export { Mailer, MailMaybeSentError } from './notifications/mailer.port';
export type { OutgoingEmail } from './notifications/mailer.port';
export { PurchaseMailService, PurchaseNotPersistedError } from './notifications/purchase-mail.service';
export type { DeliveryOutcome } from './notifications/purchase-mail.service';
export { renderPurchaseEmail } from './notifications/purchase-email.template';
export type { RenderedEmail } from './notifications/purchase-email.template';
export { parseDateTime, toDateTime } from './date-time';
export { isUuid } from './input';
export { fitsId, idWithPerformance, MAX_ID_PERFORMANCE, newIdOf, performanceOfId } from './ids';
export { WaitingRoomModule } from './waiting-room/waiting-room.module';
export { WaitingRoomService } from './waiting-room/waiting-room.service';
export { WaitingRoomStore } from './waiting-room/waiting-room.store';
export type { RawTicket } from './waiting-room/waiting-room.store';
export { AdmissionGate } from './waiting-room/admission-gate';
export { AdmissionTokens } from './waiting-room/admission-token';
export type { AdmissionClaims } from './waiting-room/admission-token';
export { newShuffleSeed, SeedStream, seedCommitment, shuffledArrivals } from './waiting-room/shuffle';
export { WAITING_ROOM_REGISTRY_KEY, waitingRoomKeys } from './waiting-room/waiting-room-keys';
export type { WaitingRoomKeys } from './waiting-room/waiting-room-keys';
export type {
  AdmissionStep,
  QueueTicket,
  StoredWaitingRoom,
  TicketEndReason,
  TicketStatus,
  WaitingRoomFigures,
  WaitingRoomSettings,
  WaitingRoomView,
} from './waiting-room/waiting-room.types';
