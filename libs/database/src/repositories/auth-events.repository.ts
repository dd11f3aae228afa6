import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuthEventEntity, AuthEventType } from '../entities/auth-event.entity';

/** The append-only audit trail of account events. */
@Injectable()
export class AuthEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(userId: string, type: AuthEventType, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.getRepository(AuthEventEntity).insert({ userId, type });
  }
}
