/**
 * The `class.method` ids (AMQP 0-9-1; say "20.40", Channel.Close) of each method frame in `chunk`,
 * whole frames as a client writes them (what TcpProxy.cutWhenClientSends sees): a frame is type
 * (1 byte; 1 for a method), channel (2), payload size (4), payload (a method's opens with its
 * class and method ids, 2 bytes each), end byte.
 */
export function amqpMethodsIn(chunk: Buffer): string[] {
  const methods: string[] = [];
  for (let at = 0; at + 11 <= chunk.length; at += 8 + chunk.readUInt32BE(at + 3)) {
    if (chunk[at] === 1) methods.push(`${chunk.readUInt16BE(at + 7)}.${chunk.readUInt16BE(at + 9)}`);
  }
  return methods;
}
