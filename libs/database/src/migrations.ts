import { AccountsAndAuth1764080000000 } from './migrations/1764080000000-AccountsAndAuth';
import { Catalog1795617359024 } from './migrations/1795617359024-Catalog';
import { Purchases1795618691485 } from './migrations/1795618691485-Purchases';
import { PurchaseChargeId1795620000000 } from './migrations/1795620000000-PurchaseChargeId';
import { MoneyInMinorUnits1795630000000 } from './migrations/1795630000000-MoneyInMinorUnits';
import { EmailDeliveryUncertain1795640000000 } from './migrations/1795640000000-EmailDeliveryUncertain';
import { PaymentAttempts1795650000000 } from './migrations/1795650000000-PaymentAttempts';
import { TicketsWithoutPurchaseFk1795672000000 } from './migrations/1795672000000-TicketsWithoutPurchaseFk';
import { WaitingRooms1796100000000 } from './migrations/1796100000000-WaitingRooms';
import { TicketCheckIn1796200000000 } from './migrations/1796200000000-TicketCheckIn';
import { PerformanceLifecycle1796300000000 } from './migrations/1796300000000-PerformanceLifecycle';
import { AdminAuditLog1796400000000 } from './migrations/1796400000000-AdminAuditLog';
import { SeatsVersion1796500000000 } from './migrations/1796500000000-SeatsVersion';
import { EventSearch1796700000000 } from './migrations/1796700000000-EventSearch';
import { SeatGeometry1796800000000 } from './migrations/1796800000000-SeatGeometry';
import { EventTimeZone1796900000000 } from './migrations/1796900000000-EventTimeZone';
import { NoOrphanSeats1796950000000 } from './migrations/1796950000000-NoOrphanSeats';
import { TicketPrice1797000000000 } from './migrations/1797000000000-TicketPrice';
import { PurchasesPerformanceIndex1798000000000 } from './migrations/1798000000000-PurchasesPerformanceIndex';
import { EmailCaseFoldKey1798100000000 } from './migrations/1798100000000-EmailCaseFoldKey';
import { OutboxDeletePublished1798210000000 } from './migrations/1798210000000-OutboxDeletePublished';
import { SeatRowLabel1798300000000 } from './migrations/1798300000000-SeatRowLabel';
import { PaymentAttemptRefundOwed1798400000000 } from './migrations/1798400000000-PaymentAttemptRefundOwed';
import { MaxTicketsPerBuyer1798500000000 } from './migrations/1798500000000-MaxTicketsPerBuyer';
import { UsersStaffIndex1798600000000 } from './migrations/1798600000000-UsersStaffIndex';
import { PasswordResetTokens1798700000000 } from './migrations/1798700000000-PasswordResetTokens';
import { PerformanceCancellations1798800000000 } from './migrations/1798800000000-PerformanceCancellations';
import { SeatBlocks1798900000000 } from './migrations/1798900000000-SeatBlocks';
import { PurchasesPaidByPerformance1798950000000 } from './migrations/1798950000000-PurchasesPaidByPerformance';
import { PerformanceReschedules1799000000000 } from './migrations/1799000000000-PerformanceReschedules';
import { CheckInWindow1799100000000 } from './migrations/1799100000000-CheckInWindow';
import { EmailVerification1799300000000 } from './migrations/1799300000000-EmailVerification';
import { TicketTransfers1799400000000 } from './migrations/1799400000000-TicketTransfers';
import { TicketTransferDecline1799450000000 } from './migrations/1799450000000-TicketTransferDecline';
import { TokenLimitAndTransferIndexes1799470000000 } from './migrations/1799470000000-TokenLimitAndTransferIndexes';
import { DropRedundantAuthEventsIndex1799520000000 } from './migrations/1799520000000-DropRedundantAuthEventsIndex';
import { CheckInMark1799600000000 } from './migrations/1799600000000-CheckInMark';
import { PurchaseCompNote1799610000000 } from './migrations/1799610000000-PurchaseCompNote';
import { PartialRefunds1799640000000 } from './migrations/1799640000000-PartialRefunds';
import { PurchaseSaleChannel1799650000000 } from './migrations/1799650000000-PurchaseSaleChannel';
import { PurchaseRefundsPurchaseFk1799670000000 } from './migrations/1799670000000-PurchaseRefundsPurchaseFk';
import { PurchasesDeliveryEmailIndex1799690000000 } from './migrations/1799690000000-PurchasesDeliveryEmailIndex';
import { WindowRefunds1799720000000 } from './migrations/1799720000000-WindowRefunds';
import { CompHouseSeats1799730000000 } from './migrations/1799730000000-CompHouseSeats';
import { CashUpIndexes1799760000000 } from './migrations/1799760000000-CashUpIndexes';
import { GuestComps1799770000000 } from './migrations/1799770000000-GuestComps';
import { SessionsValidFrom1799780000000 } from './migrations/1799780000000-SessionsValidFrom';
import { SessionsValidFromIndex1799780000001 } from './migrations/1799780000001-SessionsValidFromIndex';
import { EmailDomainIdnaKey1800000050000 } from './migrations/1800000050000-EmailDomainIdnaKey';
import { RefundOperators1800000090000 } from './migrations/1800000090000-RefundOperators';
import { RefundOperatorsIndexes1800000090001 } from './migrations/1800000090001-RefundOperatorsIndexes';
import { CanceledAmount1800000120000 } from './migrations/1800000120000-CanceledAmount';
import { PurchasePresale1800000140000 } from './migrations/1800000140000-PurchasePresale';
import { PresaleMaxSeats1800000150000 } from './migrations/1800000150000-PresaleMaxSeats';
import { EmailChangeAndAccountNotices1800000160000 } from './migrations/1800000160000-EmailChangeAndAccountNotices';
import { PaymentRefundedNotices1800000180000 } from './migrations/1800000180000-PaymentRefundedNotices';
import { AddressChangeVoidsEmailChanges1800000190000 } from './migrations/1800000190000-AddressChangeVoidsEmailChanges';
import { AdminBootstrapRecord1800000190001 } from './migrations/1800000190001-AdminBootstrapRecord';
import { AccountDeletion1800000200000 } from './migrations/1800000200000-AccountDeletion';
import { PurchasePresaleIndex1800000210000 } from './migrations/1800000210000-PurchasePresaleIndex';
import { RefreshTokenExpiryIndex1800000250000 } from './migrations/1800000250000-RefreshTokenExpiryIndex';
import { AuthEventsAndDeliveriesPruneIndexes1800000340000 } from './migrations/1800000340000-AuthEventsAndDeliveriesPruneIndexes';
import { EventSearchUnaccent1799790000000 } from './migrations/1799790000000-EventSearchUnaccent';
import { PerformancePresales1799820000000 } from './migrations/1799820000000-PerformancePresales';
import { PaymentAttemptToken1799890000000 } from './migrations/1799890000000-PaymentAttemptToken';
import { PaymentAttemptTokenSettled1799940000000 } from './migrations/1799940000000-PaymentAttemptTokenSettled';
import { PaymentAttemptRecheckIndex1799940000001 } from './migrations/1799940000001-PaymentAttemptRecheckIndex';

/**
 * Every migration, in order, registered here like the entities. Listing the classes (rather
 * than a file glob) lets the same code run compiled and from TypeScript sources under Vitest.
 */
export const MIGRATIONS: Function[] = [
  AccountsAndAuth1764080000000,
  Catalog1795617359024,
  Purchases1795618691485,
  PurchaseChargeId1795620000000,
  MoneyInMinorUnits1795630000000,
  EmailDeliveryUncertain1795640000000,
  PaymentAttempts1795650000000,
  TicketsWithoutPurchaseFk1795672000000,
  WaitingRooms1796100000000,
  TicketCheckIn1796200000000,
  PerformanceLifecycle1796300000000,
  AdminAuditLog1796400000000,
  SeatsVersion1796500000000,
  EventSearch1796700000000,
  SeatGeometry1796800000000,
  EventTimeZone1796900000000,
  NoOrphanSeats1796950000000,
  TicketPrice1797000000000,
  PurchasesPerformanceIndex1798000000000,
  EmailCaseFoldKey1798100000000,
  OutboxDeletePublished1798210000000,
  SeatRowLabel1798300000000,
  PaymentAttemptRefundOwed1798400000000,
  MaxTicketsPerBuyer1798500000000,
  UsersStaffIndex1798600000000,
  PasswordResetTokens1798700000000,
  PerformanceCancellations1798800000000,
  SeatBlocks1798900000000,
  PurchasesPaidByPerformance1798950000000,
  PerformanceReschedules1799000000000,
  CheckInWindow1799100000000,
  EmailVerification1799300000000,
  TicketTransfers1799400000000,
  TicketTransferDecline1799450000000,
  TokenLimitAndTransferIndexes1799470000000,
  DropRedundantAuthEventsIndex1799520000000,
  CheckInMark1799600000000,
  PurchaseCompNote1799610000000,
  PartialRefunds1799640000000,
  PurchaseSaleChannel1799650000000,
  PurchaseRefundsPurchaseFk1799670000000,
  PurchasesDeliveryEmailIndex1799690000000,
  WindowRefunds1799720000000,
  CompHouseSeats1799730000000,
  CashUpIndexes1799760000000,
  GuestComps1799770000000,
  SessionsValidFrom1799780000000,
  SessionsValidFromIndex1799780000001,
  EventSearchUnaccent1799790000000,
  PerformancePresales1799820000000,
  PaymentAttemptToken1799890000000,
  PaymentAttemptTokenSettled1799940000000,
  PaymentAttemptRecheckIndex1799940000001,
  EmailDomainIdnaKey1800000050000,
  RefundOperators1800000090000,
  RefundOperatorsIndexes1800000090001,
  CanceledAmount1800000120000,
  PurchasePresale1800000140000,
  PresaleMaxSeats1800000150000,
  EmailChangeAndAccountNotices1800000160000,
  PaymentRefundedNotices1800000180000,
  AddressChangeVoidsEmailChanges1800000190000,
  AdminBootstrapRecord1800000190001,
  AccountDeletion1800000200000,
  PurchasePresaleIndex1800000210000,
  RefreshTokenExpiryIndex1800000250000,
  AuthEventsAndDeliveriesPruneIndexes1800000340000,
];
