// Ambient types for the part of sodium-native 5 that Scuttlekit uses. sodium-native ships no
// declarations and @types/sodium-native describes version 2. Every function writes into the
// buffers it is given, as libsodium does.
declare module 'sodium-native' {
  type Buf = Uint8Array
  namespace sodium {
    export const crypto_sign_BYTES: number
    export const crypto_sign_PUBLICKEYBYTES: number
    export const crypto_sign_SECRETKEYBYTES: number
    export const crypto_sign_SEEDBYTES: number
    export function crypto_sign_keypair(pk: Buf, sk: Buf): void
    export function crypto_sign_seed_keypair(pk: Buf, sk: Buf, seed: Buf): void
    export function crypto_sign_detached(sig: Buf, message: Buf, sk: Buf): void
    export function crypto_sign_verify_detached(sig: Buf, message: Buf, pk: Buf): boolean
    export function crypto_sign_ed25519_pk_to_curve25519(curvePk: Buf, edPk: Buf): void
    export function crypto_sign_ed25519_sk_to_curve25519(curveSk: Buf, edSk: Buf): void

    export const crypto_auth_BYTES: number
    export const crypto_auth_KEYBYTES: number
    export function crypto_auth(out: Buf, message: Buf, key: Buf): void
    export function crypto_auth_verify(mac: Buf, message: Buf, key: Buf): boolean

    export const crypto_hash_sha256_BYTES: number
    export function crypto_hash_sha256(out: Buf, message: Buf): void
    export const crypto_hash_sha512_BYTES: number
    export function crypto_hash_sha512(out: Buf, message: Buf): void

    export const crypto_secretbox_KEYBYTES: number
    export const crypto_secretbox_NONCEBYTES: number
    export const crypto_secretbox_MACBYTES: number
    export function crypto_secretbox_easy(cipher: Buf, message: Buf, nonce: Buf, key: Buf): void
    export function crypto_secretbox_open_easy(
      message: Buf,
      cipher: Buf,
      nonce: Buf,
      key: Buf,
    ): boolean
    export function crypto_secretbox_detached(
      cipher: Buf,
      mac: Buf,
      message: Buf,
      nonce: Buf,
      key: Buf,
    ): void
    export function crypto_secretbox_open_detached(
      message: Buf,
      cipher: Buf,
      mac: Buf,
      nonce: Buf,
      key: Buf,
    ): boolean

    export const crypto_box_PUBLICKEYBYTES: number
    export const crypto_box_SECRETKEYBYTES: number
    export function crypto_box_keypair(pk: Buf, sk: Buf): void

    export const crypto_scalarmult_BYTES: number
    export const crypto_scalarmult_SCALARBYTES: number
    export function crypto_scalarmult(q: Buf, n: Buf, p: Buf): void
    export function crypto_scalarmult_base(q: Buf, n: Buf): void

    export function randombytes_buf(buf: Buf): void
    export function sodium_memzero(buf: Buf): void
    export function sodium_memcmp(a: Buf, b: Buf): boolean
    export function sodium_is_zero(buf: Buf): boolean
  }
  export = sodium
}
