import { join } from 'node:path';
import { LuaScript } from '@app/redis';

/** put-presale.lua: one presale into a registered performance's meta hash. */
export const PUT_PRESALE: LuaScript = {
  name: 'boxofficePutPresale',
  file: join(__dirname, 'put-presale.lua'),
};
