import { checkAllScriptKeys } from '@app/redis';

// Every Lua script the int tests run in this process fails when it touches a key not in KEYS.
checkAllScriptKeys();
