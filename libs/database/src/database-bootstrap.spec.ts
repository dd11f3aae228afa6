import { describe, expect, it } from 'vitest';
import { databaseAddress, DatabaseConnectError } from './database-bootstrap';

describe('databaseAddress', () => {
  it('names host:port of a DATABASE_URL, 5432 unless given, never its user, password or database', () => {
    expect(databaseAddress('postgres://boxoffice:s3cret@postgres:5432/boxoffice')).toBe('postgres:5432');
    expect(databaseAddress('postgres://postgres@127.0.0.1/boxoffice')).toBe('127.0.0.1:5432');
    expect(databaseAddress('postgresql://u:p@[::1]:16432/db')).toBe('[::1]:16432');
    expect(databaseAddress('postgres://u@%2Fvar%2Frun%2Fpostgresql/db')).toBe('/var/run/postgresql:5432');
    expect(databaseAddress('postgres://u@localhost/db?host=/var/run/postgresql')).toBe('/var/run/postgresql:5432');
  });
});

describe('DatabaseConnectError', () => {
  it('says where and why in one line, and keeps the original as its cause', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 172.18.0.3:5432'), { code: 'ECONNREFUSED' });
    const error = new DatabaseConnectError('postgres:5432', cause);
    expect(error.message).toBe(
      'cannot connect to PostgreSQL at postgres:5432 (DATABASE_URL): connect ECONNREFUSED 172.18.0.3:5432',
    );
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('DatabaseConnectError');
  });
});
