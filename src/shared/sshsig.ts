// OpenSSH public keys and SSHSIG signatures (`ssh-keygen -Y sign`), verified in pure TypeScript so the workflow
// itself can check an approval: no Node modules, no Buffer, no WebCrypto (the workflow sandbox has none of them,
// and a validator must decide synchronously). Curves and hashes come from @noble; RSA is one BigInt power.
// Formats: OpenSSH's PROTOCOL.sshsig, RFC 4253 §6.6 (keys), RFC 5656 (ECDSA), RFC 8332 (rsa-sha2-*), RFC 8709.
import { ed25519 } from '@noble/curves/ed25519';
import { p256, p384, p521 } from '@noble/curves/nist';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2';

/** The key types whose signatures we verify. sk-* (FIDO) keys are not among them. */
export const SUPPORTED_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type KeyType = (typeof SUPPORTED_KEY_TYPES)[number];
/** OpenSSH refuses RSA keys under 1024 bits; we ask for what NIST still accepts. */
export const MIN_RSA_BITS = 2048;

export interface PublicKey {
  type: KeyType;
  /** The key in SSH wire format, as in the base64 of an OpenSSH key line. */
  blob: Uint8Array;
  /** `SHA256:...`, exactly as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The key line without its comment: `ssh-ed25519 AAAA...`. */
  line: string;
  comment?: string;
}

export interface SshSignature {
  publicKey: PublicKey;
  namespace: string;
  hashAlgorithm: 'sha256' | 'sha512';
  /** The signature's own algorithm: the key type, or rsa-sha2-256 / rsa-sha2-512 for RSA keys. */
  algorithm: string;
  signature: Uint8Array;
}

/** Thrown by the parsers: the message says what is wrong with the text a person gave. */
export class SshFormatError extends Error {}

// --- bytes ---
const utf8 = (s: string): Uint8Array => Uint8Array.from(new TextEncoder().encode(s)); // copied: the sandbox's TextEncoder belongs to another realm
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Decode(text: string, what: string): Uint8Array {
  const s = text.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw new SshFormatError(`${what} is not valid base64`);
  const body = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of body) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function base64Encode(bytes: Uint8Array, pad = true): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const left = bytes.length - i;
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (left > 1 ? B64[(n >> 6) & 63] : pad ? '=' : '') + (left > 2 ? B64[n & 63] : pad ? '=' : '');
  }
  return out;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const sshString = (b: Uint8Array) => concat(Uint8Array.of(b.length >>> 24, (b.length >>> 16) & 255, (b.length >>> 8) & 255, b.length & 255), b);
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Reads SSH wire format (RFC 4251 §5): uint32 and length-prefixed strings. */
class Reader {
  private at = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  uint32(): number {
    if (this.at + 4 > this.b.length) throw new SshFormatError(`${this.what} is truncated`);
    const v = ((this.b[this.at] << 24) | (this.b[this.at + 1] << 16) | (this.b[this.at + 2] << 8) | this.b[this.at + 3]) >>> 0;
    this.at += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new SshFormatError(`${this.what} is truncated`);
    const v = this.b.slice(this.at, this.at + n);
    this.at += n;
    return v;
  }
  string(): Uint8Array {
    return this.bytes(this.uint32());
  }
  text(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.string());
  }
  end(): void {
    if (this.at !== this.b.length) throw new SshFormatError(`${this.what} has ${this.b.length - this.at} bytes too many`);
  }
}

/** `SHA256:` and the unpadded base64 of the key blob's SHA-256: what `ssh-keygen -l` prints. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${base64Encode(sha256(blob), false)}`;
}

// --- public keys ---
interface KeyParts {
  type: KeyType;
  /** ed25519: the 32-byte key; ecdsa: the SEC1 point; rsa: unused. */
  point: Uint8Array;
  rsa?: { e: bigint; n: bigint; bytes: number };
}

function keyParts(blob: Uint8Array): KeyParts {
  const r = new Reader(blob, 'the public key');
  const type = r.text();
  if (type === 'ssh-ed25519') {
    const point = r.string();
    r.end();
    if (point.length !== 32) throw new SshFormatError('the ssh-ed25519 key is not 32 bytes long');
    return { type, point };
  }
  if (type === 'ecdsa-sha2-nistp256' || type === 'ecdsa-sha2-nistp384' || type === 'ecdsa-sha2-nistp521') {
    const curve = r.text();
    const point = r.string();
    r.end();
    if (`ecdsa-sha2-${curve}` !== type) throw new SshFormatError(`the ${type} key names curve ${curve}`);
    return { type, point };
  }
  if (type === 'ssh-rsa') {
    const e = mpint(r.string());
    const nBytes = r.string();
    r.end();
    const n = mpint(nBytes);
    const bits = n.toString(2).length;
    if (bits < MIN_RSA_BITS) throw new SshFormatError(`the RSA key has ${bits} bits; use ${MIN_RSA_BITS} or more (or an ed25519 key)`);
    return { type, point: new Uint8Array(), rsa: { e, n, bytes: Math.ceil(bits / 8) } };
  }
  if (type.startsWith('sk-'))
    throw new SshFormatError(`${type} (security key) signatures are not supported; use a key of type ${SUPPORTED_KEY_TYPES.join(', ')}`);
  throw new SshFormatError(`key type "${type}" is not supported; use ${SUPPORTED_KEY_TYPES.join(', ')}`);
}

/** A public key from its wire format, checked as far as its type says. */
export function publicKeyFromBlob(blob: Uint8Array, comment?: string): PublicKey {
  const { type, point } = keyParts(blob);
  if (type === 'ssh-ed25519') {
    try {
      ed25519.Point.fromHex(point);
    } catch {
      throw new SshFormatError('the ssh-ed25519 key is not a point of the curve');
    }
  } else if (type !== 'ssh-rsa') {
    try {
      curveOf(type).curve.Point.fromHex(point).assertValidity();
    } catch {
      throw new SshFormatError(`the ${type} key is not a point of its curve`);
    }
  }
  return { type, blob, fingerprint: fingerprint(blob), line: `${type} ${base64Encode(blob)}`, ...(comment ? { comment } : {}) };
}

/** An OpenSSH public key line: `ssh-ed25519 AAAA... comment` (as in id_ed25519.pub or authorized_keys, without options). */
export function parsePublicKey(line: string): PublicKey {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || !parts[0] || !/^AAAA/.test(parts[1])) {
    throw new SshFormatError('is not an OpenSSH public key; write it as in id_ed25519.pub: "ssh-ed25519 AAAA... name@host"');
  }
  const [type, data, ...rest] = parts;
  const blob = base64Decode(data, 'the public key');
  const inner = new Reader(blob, 'the public key').text();
  if (inner !== type) throw new SshFormatError(`the key line says ${type} but its data is a ${inner} key`);
  return publicKeyFromBlob(blob, rest.join(' ') || undefined);
}

// --- signatures ---
const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';
const MAGIC = utf8('SSHSIG');

/** The armored text `ssh-keygen -Y sign` writes, parsed (not yet verified). */
export function parseSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(ARMOR_BEGIN) || !text.endsWith(ARMOR_END)) {
    throw new SshFormatError(`is not an SSH signature; it must start with "${ARMOR_BEGIN}" and end with "${ARMOR_END}" (as ssh-keygen -Y sign writes it)`);
  }
  const blob = base64Decode(text.slice(ARMOR_BEGIN.length, text.length - ARMOR_END.length), 'the signature');
  const r = new Reader(blob, 'the signature');
  if (!equal(r.bytes(6), MAGIC)) throw new SshFormatError('the signature does not begin with "SSHSIG"');
  const version = r.uint32();
  if (version !== 1) throw new SshFormatError(`the signature has version ${version}; only version 1 exists`);
  const publicKey = publicKeyFromBlob(r.string());
  const namespace = r.text();
  r.string(); // reserved
  const hashAlgorithm = r.text();
  if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512')
    throw new SshFormatError(`the signature uses hash "${hashAlgorithm}"; SSHSIG allows sha256 and sha512`);
  const sig = new Reader(r.string(), 'the signature value');
  r.end();
  const algorithm = sig.text();
  const signature = sig.string();
  sig.end();
  const allowed = publicKey.type === 'ssh-rsa' ? ['rsa-sha2-256', 'rsa-sha2-512'] : [publicKey.type];
  if (!allowed.includes(algorithm)) throw new SshFormatError(`a ${publicKey.type} key cannot make a "${algorithm}" signature`);
  return { publicKey, namespace, hashAlgorithm, algorithm, signature };
}

/** What SSHSIG actually signs: the message's hash wrapped with the namespace (PROTOCOL.sshsig, "Signed Data"). */
function signedData(namespace: string, hashAlgorithm: 'sha256' | 'sha512', message: Uint8Array): Uint8Array {
  const h = hashAlgorithm === 'sha256' ? sha256(message) : sha512(message);
  return concat(MAGIC, sshString(utf8(namespace)), sshString(new Uint8Array()), sshString(utf8(hashAlgorithm)), sshString(h));
}

/** True when the signature is its key's over the message in that namespace. Never throws for a wrong signature. */
export function verifySignature(sig: SshSignature, message: string | Uint8Array, namespace: string): boolean {
  if (sig.namespace !== namespace) return false;
  const data = signedData(namespace, sig.hashAlgorithm, typeof message === 'string' ? utf8(message) : message);
  const key = keyParts(sig.publicKey.blob);
  try {
    if (key.type === 'ssh-ed25519') return ed25519.verify(sig.signature, data, key.point);
    if (key.type === 'ssh-rsa') return verifyRsa(key.rsa as NonNullable<KeyParts['rsa']>, sig.algorithm, sig.signature, data);
    return verifyEcdsa(key.type, key.point, sig.signature, data);
  } catch {
    return false; // a malformed signature value is a wrong signature, not a crash
  }
}

function curveOf(type: KeyType) {
  if (type === 'ecdsa-sha2-nistp256') return { curve: p256, hash: sha256, size: 32 };
  if (type === 'ecdsa-sha2-nistp384') return { curve: p384, hash: sha384, size: 48 };
  return { curve: p521, hash: sha512, size: 66 };
}

/** RFC 5656 §3.1.2: the value is mpint r, mpint s; the hash is the curve's own. High-S is valid in SSH. */
function verifyEcdsa(type: KeyType, point: Uint8Array, value: Uint8Array, data: Uint8Array): boolean {
  const { curve, hash, size } = curveOf(type);
  const r = new Reader(value, 'the ECDSA signature');
  const rs = [mpint(r.string()), mpint(r.string())];
  r.end();
  const compact = concat(...rs.map((x) => fixed(x, size)));
  return curve.verify(compact, hash(data), point, { prehash: false, lowS: false, format: 'compact' });
}

/** RFC 8017 §8.2.2 (RSASSA-PKCS1-v1_5): s^e mod n must equal the whole expected encoding, byte for byte. */
function verifyRsa(key: NonNullable<KeyParts['rsa']>, algorithm: string, value: Uint8Array, data: Uint8Array): boolean {
  if (value.length > key.bytes) return false;
  const s = mpint(value);
  if (s >= key.n) return false;
  const [prefix, digest] =
    algorithm === 'rsa-sha2-256' ? ['3031300d060960864801650304020105000420', sha256(data)] : ['3051300d060960864801650304020305000440', sha512(data)];
  const t = prefix + hex(digest);
  const expected = `0001${'ff'.repeat(key.bytes - 3 - t.length / 2)}00${t}`;
  return hex(fixed(modPow(s, key.e, key.n), key.bytes)) === expected;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

/** An SSH mpint (big-endian, two's complement; ours are never negative). */
function mpint(b: Uint8Array): bigint {
  return b.length ? BigInt(`0x${hex(b)}`) : 0n;
}

function fixed(x: bigint, size: number): Uint8Array {
  const h = x.toString(16).padStart(size * 2, '0');
  if (h.length > size * 2) throw new SshFormatError('a signature number is too large');
  return Uint8Array.from({ length: size }, (_, i) => Number.parseInt(h.slice(i * 2, i * 2 + 2), 16));
}

/** A stable id of a signature, to refuse one used twice: the SHA-256 of its text without armor or line breaks. */
export function signatureId(armored: string): string {
  return hex(sha256(utf8(armored.replace(/-----[A-Z ]+-----|\s/g, ''))));
}
