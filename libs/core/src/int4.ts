/**
 * Largest value of a PostgreSQL `integer` column (2^31 − 1): every id of ours (events,
 * performances, seats, users) is one, so a larger number names nothing and must not reach a query
 * (PostgreSQL answers it with "value out of range", a 500).
 */
export const MAX_INT4 = 2_147_483_647;
