import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_INT4 } from '@app/core';
import { BOX_OFFICE_PAYMENT_METHODS } from '@app/database';
import type { BoxOfficePaymentMethod } from '@app/database';
import { MAX_BOX_OFFICE_NAME_LENGTH, MAX_SEATS_PER_BOX_OFFICE_SALE } from '@app/ticketing';
import type { BoxOfficeSale, Described } from '@app/ticketing';
import { NormalizedEmail } from '../auth/auth.dto';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';
import { mapPurchase, PurchaseResponseDto } from '../purchases/purchase.dto';
import { itemsAtLeast, itemsAtMost } from '../common/validators';

/** Body of `POST /box-office/performances/:id/sales`: the seats sold at the window, and how they were paid. */
export class BoxOfficeSaleCreateDto {
  @ApiProperty({
    type: 'integer',
    isArray: true,
    minItems: 1,
    maxItems: MAX_SEATS_PER_BOX_OFFICE_SALE,
    example: [101, 102],
    description: `1 to ${MAX_SEATS_PER_BOX_OFFICE_SALE} seat ids of the performance, each once: all are sold, or none.`,
  })
  @IsArray()
  @ArrayMinSize(1, itemsAtLeast(1))
  @ArrayMaxSize(MAX_SEATS_PER_BOX_OFFICE_SALE, itemsAtMost(MAX_SEATS_PER_BOX_OFFICE_SALE))
  @ArrayUnique({ message: 'seatIds must not name a seat twice' })
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(MAX_INT4, { each: true })
  seatIds: number[];

  @ApiProperty({
    enum: BOX_OFFICE_PAYMENT_METHODS,
    description: 'How the money was taken at the window; nothing goes through the payment gateway.',
  })
  @IsIn(BOX_OFFICE_PAYMENT_METHODS)
  paymentMethod: BoxOfficePaymentMethod;

  /**
   * Where the buyer wants the tickets e-mailed, if anywhere (no account needed): the sale's e-mails
   * (its tickets; a refund's notice) go there; without it, to the selling account. Also in the
   * audit row of the sale. @example walkup@example.com
   */
  @IsOptional()
  @NormalizedEmail()
  email?: string;

  /** The buyer's name, if given: the e-mails are addressed to it; also in the audit row. 1 to 200 characters. @example "Jin Park" */
  @IsOptional()
  @FreeText()
  @MinLength(1)
  @MaxLength(MAX_BOX_OFFICE_NAME_LENGTH)
  name?: string;
}

/** A ticket of a box office sale, for the window to print. */
export class BoxOfficeTicketDto {
  /** Decimal string (a bigint): the ticket's id. @example "1042" */
  ticketId: string;
  @ApiProperty({ type: 'integer' })
  seatId: number;
  /** The signed code the door scans (the same as the e-mail's QR code and the ticket list's `code`). */
  code: string;
}

/** A box office sale (`saleChannel: "BOX_OFFICE"`), the venue's, stored under the selling account, and its tickets. */
export class BoxOfficeSaleResponseDto extends PurchaseResponseDto {
  /** The selling account (staff or admin): it stores the sale but sees none of it as a buyer. */
  userId: string;
  /** One per seat, in the order of `seatIds`. */
  @ApiProperty({ type: [BoxOfficeTicketDto] })
  tickets: BoxOfficeTicketDto[];
}

export function mapBoxOfficeSale(sale: Described<BoxOfficeSale>): BoxOfficeSaleResponseDto {
  return {
    ...mapPurchase(sale),
    userId: sale.userId,
    tickets: sale.tickets.map(({ ticketId, seatId, code }) => ({ ticketId, seatId, code })),
  };
}
