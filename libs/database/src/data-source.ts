import { DataSource } from 'typeorm';
import { loadEnv } from '@app/config';
import { dataSourceOptions } from './data-source.options';

/** Used only by the TypeORM CLI (`npm run migration:*`). */
export default new DataSource(dataSourceOptions(loadEnv()));
