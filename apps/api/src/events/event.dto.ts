import { PartialType } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class EventCreateDto {
  /** @example "IU 2027 World Tour — Seoul" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title: string;

  @IsOptional()
  @IsString()
  @MaxLength(5000)
  description?: string;

  /** @example "Seoul Olympic Stadium" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  venue: string;
}

export class EventUpdateDto extends PartialType(EventCreateDto) {}

export class EventResponseDto {
  id: number;
  title: string;
  description: string | null;
  venue: string;
  createdAt: string;
  updatedAt: string;
}

export class EventPageDto {
  items: EventResponseDto[];
  nextCursor: string | null;
}
