import { CRC64_INIT, crc64Update, crcEquals, crcHex, type Crc64 } from './crc64.js';
import { HEADER_BYTES, HeaderError, decodeHeader, type MessageHeader } from './header.js';

/** What went wrong with an incoming message, one counter each. */
export const PROBLEM_KINDS = ['crc', 'oversize', 'truncated', 'header', 'skipped', 'malformed', 'unsupported'] as const;
export type ProblemKind = (typeof PROBLEM_KINDS)[number];

export interface ParserLimits {
  /** A wanted message whose body declares more than this is skipped unread, never allocated. */
  maxBodyBytes: number;
}

export interface ParserHooks {
  /** Whether to read this message's body; the rest are skipped as they stream past (counted as 'skipped'). */
  wants(header: MessageHeader): boolean;
  /** A wanted message whose body arrived whole and matched its CRC. `content` excludes a v2/v3 extended header and metadata. */
  message(header: MessageHeader, content: Uint8Array): void;
  problem(kind: ProblemKind, detail: string): void;
}

/**
 * Cuts a TCP byte stream into OpenIGTLink messages. Memory is bounded whatever arrives: a
 * header is 58 bytes, a body is allocated only when wanted and within maxBodyBytes (the
 * declared size is the sender's claim), and every other body is counted down and dropped
 * chunk by chunk. The CRC is computed as the body arrives.
 *
 * A message with a wrong CRC is dropped and the stream goes on (its length was known). A
 * header that cannot be one means the stream is out of step: push() throws HeaderError and
 * the connection must be reopened, since OpenIGTLink has no marker to find the next message.
 */
export class MessageParser {
  private headerBytes = Buffer.alloc(HEADER_BYTES);
  private headerFilled = 0;
  private header?: MessageHeader;
  /** Body being read (wanted), or undefined while skipping. */
  private body?: Uint8Array;
  private bodyFilled = 0;
  private remaining = 0;
  private crc: Crc64 = CRC64_INIT;

  constructor(
    private readonly limits: ParserLimits,
    private readonly hooks: ParserHooks,
  ) {}

  /** True between a message's first byte and its last. */
  get midMessage(): boolean {
    return this.headerFilled > 0 || this.header !== undefined;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.header) {
        const take = Math.min(HEADER_BYTES - this.headerFilled, chunk.length - offset);
        this.headerBytes.set(chunk.subarray(offset, offset + take), this.headerFilled);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled === HEADER_BYTES) this.startBody();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const piece = chunk.subarray(offset, offset + take);
      offset += take;
      this.remaining -= take;
      if (this.body) {
        this.body.set(piece, this.bodyFilled);
        this.bodyFilled += take;
        this.crc = crc64Update(this.crc, piece);
      }
      if (this.remaining === 0) this.finishBody();
    }
  }

  /** The connection ended: a message cut short is counted, and the parser starts afresh. */
  end(): void {
    if (this.midMessage) {
      const what = this.header ? `${this.header.type} message, ${this.remaining} of ${this.header.bodyBytes} body bytes missing` : `header, ${HEADER_BYTES - this.headerFilled} bytes missing`;
      this.hooks.problem('truncated', `the connection ended inside a ${what}`);
    }
    this.reset();
  }

  private startBody(): void {
    this.headerFilled = 0;
    let header: MessageHeader;
    try {
      header = decodeHeader(this.headerBytes);
    } catch (error) {
      if (error instanceof HeaderError) this.hooks.problem('header', error.message);
      throw error;
    }
    this.header = header;
    this.remaining = header.bodyBytes;
    this.crc = CRC64_INIT;
    const wanted = this.hooks.wants(header);
    if (wanted && header.bodyBytes > this.limits.maxBodyBytes) {
      this.hooks.problem('oversize', `${header.type} from ${header.device || 'an unnamed device'} declares ${header.bodyBytes} body bytes (limit ${this.limits.maxBodyBytes}); skipped unread`);
    } else if (wanted) {
      this.body = new Uint8Array(header.bodyBytes);
      this.bodyFilled = 0;
    } else {
      this.hooks.problem('skipped', `${header.type} from ${header.device || 'an unnamed device'} is not read`);
    }
    if (this.remaining === 0) this.finishBody();
  }

  private finishBody(): void {
    const header = this.header!;
    const body = this.body;
    const crc = this.crc;
    this.reset();
    if (!body) return;
    if (!crcEquals(crc, header.crc)) {
      this.hooks.problem('crc', `${header.type} from ${header.device || 'an unnamed device'}: CRC ${crcHex(crc)} does not match the header's ${crcHex(header.crc)}; dropped`);
      return;
    }
    let content: Uint8Array;
    try {
      content = contentOf(header, body);
    } catch (error) {
      this.hooks.problem('malformed', (error as Error).message);
      return;
    }
    this.hooks.message(header, content);
  }

  private reset(): void {
    this.header = undefined;
    this.body = undefined;
    this.headerFilled = 0;
    this.bodyFilled = 0;
    this.remaining = 0;
  }
}

/**
 * Versions 2 and 3 wrap the content: a 12-byte extended header (u16 its size, u16 metadata
 * header size, u32 metadata size, u32 message id) before it, the metadata after it.
 */
function contentOf(header: MessageHeader, body: Uint8Array): Uint8Array {
  if (header.version === 1) return body;
  if (body.length < 12) throw new Error(`${header.type} v${header.version}: body of ${body.length} bytes has no extended header`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const start = view.getUint16(0);
  const end = body.length - view.getUint16(2) - view.getUint32(4);
  if (start < 12 || end < start) throw new Error(`${header.type} v${header.version}: extended header and metadata sizes do not fit the ${body.length}-byte body`);
  return body.subarray(start, end);
}
