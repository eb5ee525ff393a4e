import { Duplex } from 'node:stream';

/**
 * A connection seen through its MQTT framing: every packet's fixed header is read as the bytes arrive, and a
 * connection announcing a packet larger than maxPacketBytes is cut before the packet is buffered. aedes (and the
 * mqtt-packet parser under it) accepts packets up to MQTT's 256 MB, so without this one client could make the
 * broker hold that much for it.
 */
export class PacketSizeLimit extends Duplex {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private refused = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxPacketBytes: number,
    private readonly onRefused: (reason: 'PACKET_TOO_LARGE' | 'MALFORMED_PACKET', bytes: number) => void,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }

  private onData(chunk: Buffer): void {
    if (this.refused) return;
    const problem = this.scan(chunk);
    if (problem) {
      this.refused = true;
      this.onRefused(problem, 1 + this.lengthBytes + this.length);
      this.socket.destroy();
      return;
    }
    if (!this.push(chunk)) this.socket.pause();
  }

  /** Follows the packet boundaries through one chunk; returns why the connection must end, if it must. */
  private scan(chunk: Buffer): 'PACKET_TOO_LARGE' | 'MALFORMED_PACKET' | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        i += 1;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i];
        i += 1;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes += 1;
        if ((byte & 0x80) !== 0) {
          if (this.lengthBytes === 4) return 'MALFORMED_PACKET';
          continue;
        }
        if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return 'PACKET_TOO_LARGE';
        this.remaining = this.length;
        this.state = this.remaining > 0 ? 'body' : 'type';
      } else {
        const skip = Math.min(this.remaining, chunk.length - i);
        i += skip;
        this.remaining -= skip;
        if (this.remaining === 0) this.state = 'type';
      }
    }
    return undefined;
  }
}
