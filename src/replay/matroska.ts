/**
 * A Matroska stream of raw RGBA frames, each with its own timestamp, for the overlay encoder's
 * stdin. Raw video on a pipe (`-f rawvideo`) has no timestamps, only a constant rate; Matroska
 * carries one per frame, and ffmpeg (the 2018 static build as well as current ones) reads
 * uncompressed RGBA from it (`V_UNCOMPRESSED`, ColourSpace `RGBA`), though its own muxer
 * refuses to write raw RGB. Element IDs and layout: the Matroska specification (RFC 9559).
 */

const EBML = 0x1a45dfa3;
const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const TIMESTAMP_SCALE = 0x2ad7b1;
const MUXING_APP = 0x4d80;
const WRITING_APP = 0x5741;
const TRACKS = 0x1654ae6b;
const TRACK_ENTRY = 0xae;
const TRACK_NUMBER = 0xd7;
const TRACK_UID = 0x73c5;
const TRACK_TYPE = 0x83;
const CODEC_ID = 0x86;
const VIDEO = 0xe0;
const PIXEL_WIDTH = 0xb0;
const PIXEL_HEIGHT = 0xba;
const COLOUR_SPACE = 0x2eb524;
const CLUSTER = 0x1f43b675;
const CLUSTER_TIMESTAMP = 0xe7;
const SIMPLE_BLOCK = 0xa3;

/** Timestamps count milliseconds (1 000 000 ns a tick). */
const TICK_NS = 1_000_000;
/** A Segment whose size is not known when it starts, as a live stream's: the 8-byte "unknown" size. */
const UNKNOWN_SIZE = Uint8Array.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const APP = 'bonestream';

/** The stream's start: EBML header, an open Segment, its Info and the one video track. */
export function matroskaHeader(size: { width: number; height: number }): Uint8Array {
  const header = element(EBML, [
    uintElement(0x4286, 1), // EBMLVersion
    uintElement(0x42f7, 1), // EBMLReadVersion
    uintElement(0x42f2, 4), // EBMLMaxIDLength
    uintElement(0x42f3, 8), // EBMLMaxSizeLength
    stringElement(0x4282, 'matroska'), // DocType
    uintElement(0x4287, 4), // DocTypeVersion
    uintElement(0x4285, 2), // DocTypeReadVersion
  ]);
  const info = element(INFO, [uintElement(TIMESTAMP_SCALE, TICK_NS), stringElement(MUXING_APP, APP), stringElement(WRITING_APP, APP)]);
  const video = element(VIDEO, [uintElement(PIXEL_WIDTH, size.width), uintElement(PIXEL_HEIGHT, size.height), element(COLOUR_SPACE, [new TextEncoder().encode('RGBA')])]);
  const track = element(TRACK_ENTRY, [uintElement(TRACK_NUMBER, 1), uintElement(TRACK_UID, 1), uintElement(TRACK_TYPE, 1), stringElement(CODEC_ID, 'V_UNCOMPRESSED'), video]);
  return concat([header, id(SEGMENT), UNKNOWN_SIZE, info, element(TRACKS, [track])]);
}

/**
 * One frame in a Cluster of its own, at `timestampMs` (a whole, non-negative number of
 * milliseconds: the caller keeps them increasing). The pixels are not copied into a new buffer
 * with the header: the parts are returned to be written in order.
 */
export function matroskaFrame(rgba: Uint8Array, timestampMs: number): Uint8Array[] {
  // Track 1 as a 1-byte VINT, timestamp 0 relative to the cluster (int16), flags: keyframe.
  const blockHead = Uint8Array.from([0x81, 0x00, 0x00, 0x80]);
  const block = concat([id(SIMPLE_BLOCK), vint(blockHead.length + rgba.length), blockHead]);
  const timestamp = uintElement(CLUSTER_TIMESTAMP, timestampMs);
  const clusterHead = concat([id(CLUSTER), vint(timestamp.length + block.length + rgba.length), timestamp, block]);
  return [clusterHead, rgba];
}

function element(elementId: number, children: Uint8Array[]): Uint8Array {
  const body = concat(children);
  return concat([id(elementId), vint(body.length), body]);
}

function uintElement(elementId: number, value: number): Uint8Array {
  return element(elementId, [uintBytes(value)]);
}

function stringElement(elementId: number, value: string): Uint8Array {
  return element(elementId, [new TextEncoder().encode(value)]);
}

/** An element ID is written as its bytes, its length marker included. */
function id(value: number): Uint8Array {
  return uintBytes(value);
}

/** Big-endian, as few bytes as the value needs (at least one). */
function uintBytes(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Matroska unsigned integer out of range (got ${value})`);
  const bytes: number[] = [];
  for (let rest = value; bytes.length === 0 || rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.from(bytes);
}

/** A size as an EBML variable-length integer: n bytes hold 7n bits, the first byte's leading 1 says n. */
function vint(value: number): Uint8Array {
  for (let length = 1; length <= 8; length++) {
    // All ones in the 7n bits means "unknown": a known size stays below it.
    if (value < 2 ** (7 * length) - 1) {
      const bytes = new Uint8Array(length);
      let rest = value;
      for (let i = length - 1; i >= 0; i--) {
        bytes[i] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      bytes[0] |= 0x80 >> (length - 1);
      return bytes;
    }
  }
  throw new RangeError(`Matroska element too large (${value} bytes)`);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
