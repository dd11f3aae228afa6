import { describe, expect, it } from 'vitest';
import { amqpMethodsIn } from './amqp-frames';

/** One frame: type, channel, payload size, payload, end byte (0xCE). */
function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

/** A method frame's payload: class id, method id, then `args` bytes of arguments. */
function method(classId: number, methodId: number, args = 0): Buffer {
  const payload = Buffer.alloc(4 + args);
  payload.writeUInt16BE(classId, 0);
  payload.writeUInt16BE(methodId, 2);
  return payload;
}

describe('amqpMethodsIn', () => {
  it('names each method frame of a chunk in order, passing over other frames', () => {
    const chunk = Buffer.concat([
      frame(1, 1, method(60, 30, 12)), // Basic.Cancel
      frame(8, 0, Buffer.alloc(0)), // a heartbeat
      frame(3, 1, Buffer.from('a body')), // content
      frame(1, 1, method(20, 40, 9)), // Channel.Close
      frame(1, 0, method(10, 50, 9)), // Connection.Close
    ]);
    expect(amqpMethodsIn(chunk)).toEqual(['60.30', '20.40', '10.50']);
    expect(amqpMethodsIn(Buffer.alloc(0))).toEqual([]);
  });
});
