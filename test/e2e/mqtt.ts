/** aedes, an MQTT broker in the test process, for flows with Node-RED's own mqtt nodes. */
import net from "node:net";

export interface Publish {
  topic: string;
  payload: Buffer;
  fromClient: boolean;
}

interface AedesBroker {
  handle: (socket: net.Socket) => void;
  publish(packet: { topic: string; payload: Buffer; qos: 0; retain: boolean; cmd: "publish"; dup: boolean }, cb: (err?: Error) => void): void;
  on(event: "subscribe", fn: (subs: Array<{ topic: string }>, client: unknown) => void): void;
  on(event: "publish", fn: (packet: { topic: string; payload: Buffer | string }, client: unknown) => void): void;
  close(cb: () => void): void;
}

export class Broker {
  readonly subscribed = new Set<string>();
  readonly published: Publish[] = [];

  private constructor(
    private readonly aedes: AedesBroker,
    private readonly server: net.Server,
    readonly port: number,
  ) {
    aedes.on("subscribe", (subs) => subs.forEach((s) => this.subscribed.add(s.topic)));
    aedes.on("publish", (p, client) => {
      if (!p.topic.startsWith("$SYS")) this.published.push({ topic: p.topic, payload: Buffer.from(p.payload), fromClient: !!client });
    });
  }

  static async start(): Promise<Broker> {
    // aedes 1.x is ESM only: require(esm) works on Node >= 20.19.
    const { Aedes } = require("aedes") as { Aedes: { createBroker(): Promise<AedesBroker> } };
    const aedes = await Aedes.createBroker();
    const server = net.createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return new Broker(aedes, server, (server.address() as net.AddressInfo).port);
  }

  publish(topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.aedes.publish({ topic, payload: Buffer.from(payload), qos: 0, retain: false, cmd: "publish", dup: false }, (err) => (err ? reject(err) : resolve())),
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A concrete topic matching an MQTT subscription (wildcards filled in). */
export function topicFor(subscription: string): string {
  return subscription.replace(/\+/g, "e2e").replace(/#$/, "e2e");
}
