import net from 'node:net';
import { freePort } from './free-port';

/**
 * Forwards a spare local port to a server. `cut()` drops every connection and refuses new ones,
 * as if the server were down for the processes that go through the proxy, and for no one else;
 * `restore()` lets them in again. `hold()` keeps the server's bytes in the proxy (requests still
 * reach the server, its answers wait), as a server too busy to answer; `release()` passes them on.
 * `cutWhenClientSends(match)` cuts the moment a client sends bytes that `match` accepts, so a test
 * can drop a connection at one exact request, from outside the process that makes it. `freeze()`
 * stops every byte both ways and keeps the connections open (a half-open connection, as a proxy or
 * network that froze: no reset, no close reaches either side); `thaw()` forwards again.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Each connection's socket to the server, with the client's socket it answers to. */
  private readonly answers = new Map<net.Socket, net.Socket>();
  private holding = false;
  private frozen = false;
  /** Looks at every chunk a client sends; set by {@link cutWhenClientSends}. */
  private watchClients?: (chunk: Buffer) => void;

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async create(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      this.answers.set(upstream, client);
      client.on('data', (chunk: Buffer) => this.watchClients?.(chunk));
      if (this.frozen) client.pause();
      else client.pipe(upstream);
      if (this.holding || this.frozen) upstream.pause();
      else upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => {
        this.answers.delete(upstream);
        client.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Cuts (as {@link cut}) the moment a client sends a chunk `match` accepts, and resolves then;
   * the chunk may or may not reach the server. Watches until then, the connections open now and
   * those opened later alike.
   */
  cutWhenClientSends(match: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.watchClients = (chunk) => {
        if (!match(chunk)) return;
        this.watchClients = undefined;
        void this.cut().then(resolve);
      };
    });
  }

  /** From now on, the server's bytes wait in the proxy (of every connection, new ones included). */
  hold(): void {
    if (this.holding) return;
    this.holding = true;
    for (const [upstream, client] of this.answers) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /**
   * From now on no byte passes either way, on the connections open now and on new ones (accepted,
   * then silent): each side's bytes wait in the proxy, and neither side hears of it.
   */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    for (const [upstream, client] of this.answers) {
      client.unpipe(upstream);
      client.pause();
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Forwards again, both ways, what waited and everything after (the server's bytes still wait while held). */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const [upstream, client] of this.answers) {
      client.pipe(upstream);
      if (!this.holding) upstream.pipe(client);
    }
  }

  /** Passes on what the server sent while held, and everything after. */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.frozen) return;
    for (const [upstream, client] of this.answers) upstream.pipe(client);
  }
}
