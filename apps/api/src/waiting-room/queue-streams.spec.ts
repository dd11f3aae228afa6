import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { QueueStreams, TooManyQueueStreamsError } from './queue-streams';

const streamsOf = (limit: string) => new QueueStreams(parseEnv({ WAITING_ROOM_STREAMS_PER_USER: limit }) as Env);

describe('QueueStreams', () => {
  it('gives an account WAITING_ROOM_STREAMS_PER_USER places, refuses one more with 429 and Retry-After, and counts accounts apart', () => {
    const streams = streamsOf('2');
    streams.take('a', 5);
    const release = streams.take('a', 5);
    const refused = (() => {
      try {
        streams.take('a', 5);
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(TooManyQueueStreamsError);
    expect(refused).toMatchObject({
      kind: 'too_many',
      retryAfterSeconds: 5,
      details: { code: 'TooManyQueueStreams', limit: 2 },
    });
    expect(() => streams.take('b', 5)).not.toThrow();
    expect(streams.openOf('a')).toBe(2);
    release();
    expect(streams.openOf('a')).toBe(1);
    expect(() => streams.take('a', 5)).not.toThrow();
  });

  it('gives a place back once, however often its release is called', () => {
    const streams = streamsOf('3');
    const first = streams.take('a', 5);
    streams.take('a', 5);
    first();
    first();
    expect(streams.openOf('a')).toBe(1);
  });
});
