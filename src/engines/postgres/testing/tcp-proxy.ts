/**
 * A TCP proxy in front of PostgreSQL that can go down and come back on the same port: to its clients, what
 * a restarting server looks like (every connection dropped, then refused, then accepted again), without
 * restarting the machine's shared server.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every connection and stops accepting new ones. */
  down(): Promise<void>;
  /** Accepts connections again, on the same port. */
  up(): Promise<void>;
}

export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;

  const relay = (client: net.Socket) => {
    const upstream = net.connect(target);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  };

  const up = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer(relay);
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as net.AddressInfo).port;
        server = listening;
        resolve();
      });
    });

  const down = async () => {
    const listening = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (listening !== undefined) await new Promise((resolve) => listening.close(resolve));
  };

  await up();
  return {
    get port() {
      return port;
    },
    down,
    up,
  };
};
