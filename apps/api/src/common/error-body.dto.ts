import { ApiProperty } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';

/** The one body every error answers with. */
export class ErrorBodyDto {
  @ApiProperty({ type: 'integer', example: 404 })
  statusCode: number;

  @ApiProperty({ example: 'Not Found' })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'performance not found',
    description: 'A sentence, or for 400 the list of field errors.',
  })
  message: string | string[];

  @ApiProperty({ example: '3f1c2a9e-0b7d-4c1e-9f53-4a6f3f0c2d11' })
  requestId: string;

  @ApiProperty({ example: '/api/v1/performances/42' })
  path: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T12:00:00.000Z' })
  timestamp: string;

  @ApiProperty({ required: false, description: 'Machine-readable details, e.g. the seats that were not available.' })
  details?: Record<string, unknown>;
}

/** The uniform error body; the exception filter and Fastify's own error answers all build it here. */
export function errorBody(
  statusCode: number,
  message: string | string[],
  requestId: string,
  path: string,
  details?: Record<string, unknown>,
): ErrorBodyDto {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    requestId,
    path,
    timestamp: new Date().toISOString(),
    ...(details ? { details } : {}),
  };
}
