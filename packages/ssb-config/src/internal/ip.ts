/**
 * The address classes ssb-config 3.4.6 gives network interfaces, decided as npm `ip` 1.1.9's
 * `isPrivate` decides them: loopback, RFC 1918, link-local and unique-local IPv6 addresses are
 * "private" (scope `local` unless the interface is internal), everything else is `public`.
 * Note that the documentation ranges 192.0.2.0/24 etc. count as public, as they do there.
 */

function isLoopback(address: string): boolean {
  return (
    /^(::f{4}:)?127\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/.test(address) ||
    /^0177\./.test(address) ||
    /^0x7f\./i.test(address) ||
    /^fe80::1$/i.test(address) ||
    /^::1$/.test(address) ||
    /^::$/.test(address)
  )
}

/** `ip.isPrivate` for the dotted-quad and IPv6 strings `os.networkInterfaces()` reports. */
export function isPrivateAddress(address: string): boolean {
  if (isLoopback(address)) return true
  return (
    /^(::f{4}:)?10\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/i.test(address) ||
    /^(::f{4}:)?192\.168\.([0-9]{1,3})\.([0-9]{1,3})$/i.test(address) ||
    /^(::f{4}:)?172\.(1[6-9]|2\d|30|31)\.([0-9]{1,3})\.([0-9]{1,3})$/i.test(address) ||
    /^(::f{4}:)?169\.254\.([0-9]{1,3})\.([0-9]{1,3})$/i.test(address) ||
    /^f[cd][0-9a-f]{2}:/i.test(address) ||
    /^fe80:/i.test(address) ||
    /^::1$/.test(address) ||
    /^::$/.test(address)
  )
}
