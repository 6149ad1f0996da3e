/**
 * A minimal WebSocket client for the bench's fan-out subscribers, on a plain
 * TCP socket (RFC 6455, client side, no extensions). (The soak's subscribers
 * use the `ws` package on purpose: they stand for a user's Node client.)
 *
 * Why not the `ws` package: the subscribers must not be the bottleneck, and
 * on two cores they share one with the load generator. This client never
 * turns a message into a string or an event object: each complete text
 * message is handed over as a byte range of the received chunk, with the
 * time the chunk arrived (one clock read per chunk, not per message). It
 * answers pings and the server's close; it sends only small text messages
 * (the subscribe op), masked as the protocol requires.
 *
 * Reading: every connection of a thread reads into one reused buffer
 * (Node's `onread` option: no Buffer allocated, no stream `data` event per
 * read), parsed at once; only an incomplete frame's tail is copied. At
 * 16k trades/s to 100 subscribers the client threads, not the gateway, had
 * their core full first (bench/README.md, fan-out): the receive path is
 * what the clients spend per socket read.
 *
 * Lifetime: `connect()` resolves once the 101 answer has been read; after a
 * close or a socket error `closed` is set and the `onClose` callback runs
 * once. Frames split across TCP chunks are reassembled; fragmented messages
 * (continuation frames) are joined.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { nowNs } from './clock.ts';

/**
 * Called for each complete text message: `buf[start, end)` is the UTF-8 payload, valid only during the
 * call; `recvNs` is when its chunk arrived (clock.ts `nowNs`).
 */
export type OnText = (buf: Buffer, start: number, end: number, recvNs: number) => void;

/** The read buffer every connection of this thread shares: a read is parsed before the next one (pending tails are copied). */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** One client connection (see the module comment for what it does and does not do). */
export class BenchWsClient {
  closed = false;
  /** Messages other than text (binary), counted and ignored. */
  binaryMessages = 0;
  private socket: net.Socket | undefined;
  private pending: Buffer | undefined;
  private fragments: Buffer[] = [];
  private fragmentOp = 0;

  constructor(
    private readonly url: URL,
    private readonly onText: OnText,
    private readonly onClose: (why: string) => void = () => {},
  ) {}

  /** Open the TCP connection and do the HTTP upgrade. */
  connect(timeoutMs = 10_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const key = randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      let upgraded = false;
      // Called with READ_BUFFER[0, n) filled; true: keep reading.
      const onRead = (n: number): boolean => {
        if (upgraded) {
          this.receive(READ_BUFFER, n, nowNs());
          return true;
        }
        head = Buffer.concat([head, READ_BUFFER.subarray(0, n)]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return true;
        const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(status)) {
          fail(new Error(`websocket upgrade refused: ${status}`));
          return true;
        }
        upgraded = true;
        clearTimeout(timer);
        resolve();
        const rest = head.subarray(end + 4);
        if (rest.length > 0) this.receive(rest, rest.length, nowNs());
        return true;
      };
      const socket = net.connect({ host: this.url.hostname, port: Number(this.url.port), noDelay: true, onread: { buffer: READ_BUFFER, callback: onRead } });
      this.socket = socket;
      const timer = setTimeout(() => fail(new Error(`websocket upgrade to ${this.url.href} timed out`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        if (!upgraded) reject(err);
      };
      socket.once('connect', () => {
        socket.write(
          `GET ${this.url.pathname}${this.url.search} HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on('error', (err) => {
        if (!upgraded) fail(err);
        else this.finish(`socket error: ${err.message}`);
      });
      socket.on('close', () => this.finish('socket closed'));
    });
  }

  /** Send a text message (masked). */
  sendText(text: string): void {
    this.sendFrame(OP_TEXT, Buffer.from(text, 'utf8'));
  }

  /** Close the connection (close frame, then end). */
  close(): void {
    if (this.closed || this.socket === undefined) return;
    this.sendFrame(OP_CLOSE, Buffer.from([0x03, 0xe8])); // 1000
    this.socket.end();
    this.finish('closed by client');
  }

  /** Drop the connection without a close frame. */
  destroy(): void {
    this.socket?.destroy();
    this.finish('destroyed');
  }

  private finish(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(why);
  }

  private sendFrame(op: number, payload: Buffer): void {
    if (this.closed || this.socket === undefined) return;
    const n = payload.length;
    const lenBytes = n < 126 ? 0 : n < 65536 ? 2 : 8;
    const frame = Buffer.alloc(2 + lenBytes + 4 + n);
    frame[0] = 0x80 | op;
    if (lenBytes === 0) frame[1] = 0x80 | n;
    else if (lenBytes === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    const at = 2 + lenBytes;
    mask.copy(frame, at);
    for (let i = 0; i < n; i++) frame[at + 4 + i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(frame);
  }

  /** Parse every complete frame in `pending + chunk[0, n)`; keep (a copy of) the incomplete tail. */
  private receive(chunk: Buffer, n: number, recvNs: number): void {
    let buf = chunk;
    let total = n;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, n)]);
      total = buf.length;
      this.pending = undefined;
    }
    let at = 0;
    while (total - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let len = b1 & 0x7f;
      let header = 2;
      if (len === 126) {
        if (total - at < 4) break;
        len = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (len === 127) {
        if (total - at < 10) break;
        len = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if ((b1 & 0x80) !== 0) header += 4; // servers never mask; tolerate it anyway
      if (total - at < header + len) break;
      const start = at + header;
      const end = start + len;
      if ((b1 & 0x80) !== 0) {
        const m = at + header - 4;
        for (let i = start; i < end; i++) buf[i] = buf[i]! ^ buf[m + ((i - start) & 3)]!;
      }
      this.frame(b0, buf, start, end, recvNs);
      at = end;
      if (this.closed) return;
    }
    if (at < total) this.pending = Buffer.from(buf.subarray(at, total)); // a copy: the read buffer is reused
  }

  private frame(b0: number, buf: Buffer, start: number, end: number, recvNs: number): void {
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if (op === OP_PING) {
      this.sendFrame(0xa, Buffer.from(buf.subarray(start, end)));
      return;
    }
    if (op === OP_CLOSE) {
      this.sendFrame(OP_CLOSE, Buffer.from(buf.subarray(start, Math.min(end, start + 2))));
      this.socket?.end();
      this.finish(`server closed (${end - start >= 2 ? buf.readUInt16BE(start) : 1005})`);
      return;
    }
    if (op === OP_TEXT || op === OP_BINARY) {
      if (fin) {
        if (op === OP_TEXT) this.onText(buf, start, end, recvNs);
        else this.binaryMessages++;
        return;
      }
      this.fragmentOp = op;
      this.fragments = [Buffer.from(buf.subarray(start, end))];
      return;
    }
    if (op === OP_CONT) {
      this.fragments.push(Buffer.from(buf.subarray(start, end)));
      if (!fin) return;
      const whole = Buffer.concat(this.fragments);
      this.fragments = [];
      if (this.fragmentOp === OP_TEXT) this.onText(whole, 0, whole.length, recvNs);
      else this.binaryMessages++;
    }
    // Pongs and unknown opcodes: nothing to do.
  }
}
