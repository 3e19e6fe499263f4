// Inserts a forged retransmission into a recorded capture: a copy of the client's segment carrying FROM
// (same sequence number, same length) whose payload says TO instead, one microsecond after the original and
// before the server acknowledges it: what an injection attack or a payload-rewriting middlebox puts on the wire.
//
//   node forge-retransmission.mjs IN.pcap OUT.pcap 'RETR good.txt' 'RETR evil.txt'
//
// Classic pcap, little-endian, microsecond timestamps, Ethernet, IPv4 (what record.sh writes). Only the TCP
// payload and checksum of the copy differ from the original; every other packet is copied byte for byte.
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output, fromText, toText] = process.argv.slice(2);
if (!toText || Buffer.byteLength(fromText) !== Buffer.byteLength(toText)) {
  console.error('usage: forge-retransmission.mjs IN OUT FROM TO (FROM and TO of the same length)');
  process.exit(2);
}
const buf = readFileSync(input);
if (buf.readUInt32LE(0) !== 0xa1b2c3d4 || buf.readUInt32LE(20) !== 1) throw new Error('expected a little-endian microsecond Ethernet pcap');
const records = [];
for (let off = 24; off < buf.length;) {
  const incl = buf.readUInt32LE(off + 8);
  records.push(buf.subarray(off, off + 16 + incl));
  off += 16 + incl;
}

function tcpChecksum(ip, ihl, tcpLen) {
  let sum = 0;
  const add16 = (v) => { sum += v; };
  add16(ip.readUInt16BE(12)); add16(ip.readUInt16BE(14)); add16(ip.readUInt16BE(16)); add16(ip.readUInt16BE(18));
  add16(6); add16(tcpLen);
  const tcp = ip.subarray(ihl, ihl + tcpLen);
  for (let i = 0; i + 1 < tcp.length; i += 2) if (i !== 16) add16(tcp.readUInt16BE(i));
  if (tcp.length % 2) add16(tcp[tcp.length - 1] << 8);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum) & 0xffff;
}

const needle = Buffer.from(fromText, 'latin1');
let at = -1;
for (let i = 0; i < records.length && at < 0; i++) {
  const frame = records[i].subarray(16);
  if (frame.readUInt16BE(12) !== 0x0800) continue;
  const ip = frame.subarray(14);
  if (ip[9] !== 6) continue;
  const ihl = (ip[0] & 0x0f) * 4;
  const totalLen = ip.readUInt16BE(2);
  const doff = (ip[ihl + 12] >> 4) * 4;
  const payload = ip.subarray(ihl + doff, totalLen);
  if (payload.indexOf(needle) === 0) at = i;
}
if (at < 0) throw new Error(`no segment starts with ${JSON.stringify(fromText)}`);

const forged = Buffer.from(records[at]);
const frame = forged.subarray(16);
const ip = frame.subarray(14);
const ihl = (ip[0] & 0x0f) * 4;
const totalLen = ip.readUInt16BE(2);
const doff = (ip[ihl + 12] >> 4) * 4;
Buffer.from(toText, 'latin1').copy(ip, ihl + doff);
ip.writeUInt16BE(tcpChecksum(ip, ihl, totalLen - ihl), ihl + 16);
// One microsecond after the original.
let sec = forged.readUInt32LE(0);
let usec = forged.readUInt32LE(4) + 1;
if (usec >= 1e6) { sec++; usec -= 1e6; }
forged.writeUInt32LE(sec, 0);
forged.writeUInt32LE(usec, 4);

const out = [buf.subarray(0, 24), ...records.slice(0, at + 1), forged, ...records.slice(at + 1)];
writeFileSync(output, Buffer.concat(out));
console.log(`frame ${at + 1}: original ${JSON.stringify(fromText)}; frame ${at + 2}: forged copy ${JSON.stringify(toText)}`);
