// Messages the SSH client prints, which ssh2 1.17 has no API for: a user-auth banner (why a login was refused: a
// paused sandbox, a connection limit) and a disconnect with a description (why a connection was closed: the sandbox
// was deleted, the idle timeout). OpenSSH prints both on stderr. The packets are written the way ssh2's own
// Protocol.serviceAccept and Protocol.disconnect write theirs; without those internals the refusal or the disconnect
// still happens, only without the text.
import type { Connection } from "ssh2";

const DISCONNECT = 1;
const USERAUTH_BANNER = 53;
const BY_APPLICATION = 11;

interface PacketWriter {
  allocStart: number;
  allocStartKEX: number;
  alloc(size: number, force?: boolean): Buffer;
  finalize(packet: Buffer, force?: boolean): Buffer;
}
interface Ssh2Protocol {
  _packetRW?: { write: PacketWriter };
}
type SendPacket = (proto: Ssh2Protocol, packet: Buffer, bypass?: boolean) => void;

let sendPacket: SendPacket | undefined;
try {
  sendPacket = (require("ssh2/lib/protocol/utils.js") as { sendPacket?: SendPacket }).sendPacket;
} catch {
  sendPacket = undefined;
}

const protocolOf = (client: Connection) => (client as unknown as { _protocol?: Ssh2Protocol })._protocol;

/** SSH_MSG_USERAUTH_BANNER: allowed any time during authentication (RFC 4252 §5.4). */
export function sendAuthBanner(client: Connection, text: string): boolean {
  const rw = protocolOf(client)?._packetRW?.write;
  if (!sendPacket || !rw) return false;
  const message = text.endsWith("\r\n") ? text : `${text.replace(/\n$/, "")}\r\n`;
  const length = Buffer.byteLength(message);
  let p = rw.allocStart;
  const packet = rw.alloc(1 + 4 + length + 4);
  packet[p] = USERAUTH_BANNER;
  packet.writeUInt32BE(length, ++p);
  packet.write(message, (p += 4), length, "utf8");
  packet.writeUInt32BE(0, p + length); // empty language tag
  sendPacket(protocolOf(client)!, rw.finalize(packet));
  return true;
}

/** SSH_MSG_DISCONNECT with a description (OpenSSH: "Received disconnect from …: 11: <text>"), then closes. */
export function disconnectWithMessage(client: Connection, text: string): void {
  const proto = protocolOf(client);
  const rw = proto?._packetRW?.write;
  const sock = (client as unknown as { _sock?: { writable?: boolean } })._sock;
  if (sendPacket && rw && sock?.writable) {
    try {
      const length = Buffer.byteLength(text);
      let p = rw.allocStartKEX;
      const packet = rw.alloc(1 + 4 + 4 + length + 4, true);
      packet[p] = DISCONNECT;
      packet.writeUInt32BE(BY_APPLICATION, ++p);
      packet.writeUInt32BE(length, (p += 4));
      packet.write(text, (p += 4), length, "utf8");
      packet.writeUInt32BE(0, p + length); // empty language tag
      sendPacket(proto!, rw.finalize(packet, true), true);
    } catch {
      // fall through to the plain disconnect
    }
  }
  client.end();
}
