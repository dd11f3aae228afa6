import { AdminAuditEntity } from './entities/admin-audit.entity';
import { AuthEventEntity } from './entities/auth-event.entity';
import { EmailDeliveryEntity } from './entities/email-delivery.entity';
import { EmailVerificationTokenEntity } from './entities/email-verification-token.entity';
import { EmailChangeTokenEntity } from './entities/email-change-token.entity';
import { EventEntity } from './entities/event.entity';
import { OutboxMessageEntity } from './entities/outbox-message.entity';
import { PasswordResetRequestEntity } from './entities/password-reset-request.entity';
import { PasswordResetTokenEntity } from './entities/password-reset-token.entity';
import { PaymentAttemptEntity } from './entities/payment-attempt.entity';
import { PerformanceEntity } from './entities/performance.entity';
import { PurchaseEntity } from './entities/purchase.entity';
import { RefreshTokenEntity } from './entities/refresh-token.entity';
import { SeatEntity } from './entities/seat.entity';
import { TicketEntity } from './entities/ticket.entity';
import { TicketTransferEntity } from './entities/ticket-transfer.entity';
import { UserEntity } from './entities/user.entity';
import { WaitingRoomEntity } from './entities/waiting-room.entity';

/** Every entity, registered once here for the apps and the migration CLI. */
export const ENTITIES: Function[] = [
  UserEntity,
  RefreshTokenEntity,
  AuthEventEntity,
  EventEntity,
  PerformanceEntity,
  SeatEntity,
  PurchaseEntity,
  TicketEntity,
  OutboxMessageEntity,
  EmailDeliveryEntity,
  PaymentAttemptEntity,
  WaitingRoomEntity,
  AdminAuditEntity,
  PasswordResetTokenEntity,
  PasswordResetRequestEntity,
  EmailVerificationTokenEntity,
  EmailChangeTokenEntity,
  TicketTransferEntity,
];
