import { join } from 'node:path';
import { LuaScript } from '@app/redis';

export const QUEUE_TICKET: LuaScript = {
  name: 'boxofficeQueueTicket',
  file: join(__dirname, 'queue-ticket.lua'),
};
export const ADMIT: LuaScript = {
  name: 'boxofficeQueueAdmit',
  file: join(__dirname, 'admit.lua'),
};
export const OPEN_PRE_QUEUE: LuaScript = {
  name: 'boxofficeQueueOpen',
  file: join(__dirname, 'open-pre-queue.lua'),
};
export const USE_ADMISSION: LuaScript = {
  name: 'boxofficeQueueUseAdmission',
  file: join(__dirname, 'use-admission.lua'),
};
export const END_TICKET: LuaScript = {
  name: 'boxofficeQueueEndTicket',
  file: join(__dirname, 'end-ticket.lua'),
};

export const ADMISSION_HALTED: LuaScript = {
  name: 'boxofficeQueueAdmissionHalted',
  file: join(__dirname, 'admission-halted.lua'),
};

export const WAITING_ROOM_SCRIPTS = [QUEUE_TICKET, ADMIT, OPEN_PRE_QUEUE, USE_ADMISSION, END_TICKET, ADMISSION_HALTED];
