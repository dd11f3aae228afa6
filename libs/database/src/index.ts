export { DatabaseModule } from './database.module';
export { dataSourceOptions } from './data-source.options';
export { ensureDatabase, runMigrations } from './database-bootstrap';
export { ENTITIES } from './entities';
