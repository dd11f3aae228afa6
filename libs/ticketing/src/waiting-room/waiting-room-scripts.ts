import { join } from 'node:path';
import { LuaScript } from '@app/redis';

export const QUEUE_TICKET: LuaScript = {
  name: 'boxofficeQueueTicket',
  file: join(__dirname, 'queue-ticket.lua'),
  numberOfKeys: 12,
};
export const ADMIT: LuaScript = {
  name: 'boxofficeQueueAdmit',
  file: join(__dirname, 'admit.lua'),
  numberOfKeys: 10,
};
export const OPEN_PRE_QUEUE: LuaScript = {
  name: 'boxofficeQueueOpen',
  file: join(__dirname, 'open-pre-queue.lua'),
  numberOfKeys: 4,
};
export const USE_ADMISSION: LuaScript = {
  name: 'boxofficeQueueUseAdmission',
  file: join(__dirname, 'use-admission.lua'),
  numberOfKeys: 4,
};
export const END_TICKET: LuaScript = {
  name: 'boxofficeQueueEndTicket',
  file: join(__dirname, 'end-ticket.lua'),
  numberOfKeys: 8,
};

export const WAITING_ROOM_SCRIPTS = [QUEUE_TICKET, ADMIT, OPEN_PRE_QUEUE, USE_ADMISSION, END_TICKET];
