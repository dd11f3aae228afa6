// The time port lives in @app/core; this path stays for the imports of auth's own files.
export { Clock, SystemClock } from '@app/core';
