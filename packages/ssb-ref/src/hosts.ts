/**
 * Host and port validators with the exact verdicts npm `ssb-ref` 2.16 reaches through its
 * dependencies `ip` 1.1.9 (`isV4Format`, `isV6Format`) and `is-valid-domain` 0.0.20.
 *
 * These decide whether a legacy address `{host, port, key}` or a `net:` address is accepted
 * (`ssb-protocol.md` §1.5), so they copy the reference's permissive checks instead of real
 * RFC grammars: `999.999.999.999` is an "IPv4 address" and `a.co.uk*` a "domain".
 */
import { secondLevelDomainTable } from './internal/second-level-domains.js'

// `ip.isV4Format`: four groups of 1-3 digits, no range check.
const ipv4Format = /^(\d{1,3}\.){3}\d{1,3}$/
// `ip.isV6Format`: up to 8 groups, each an optional dotted quad, up to 4 hex digits and up to
// two colons, with optional `::` at either end. Very permissive (`1`, `::` and `a:b` pass).
const ipv6Format = /^(::)?(((\d{1,3}\.){3}(\d{1,3}){1})?([0-9a-f]){0,4}:{0,2}){1,8}(::)?$/i

/** True for what npm `ip.isV4Format` calls IPv4: `d.d.d.d` with 1-3 digits each, unchecked. */
export function isIPv4Format(value: unknown): value is string {
  return typeof value === 'string' && ipv4Format.test(value)
}

/** True for what npm `ip.isV6Format` calls IPv6 (a loose pattern, see the module comment). */
export function isIPv6Format(value: unknown): value is string {
  return typeof value === 'string' && ipv6Format.test(value)
}

/** ssb-ref's internal `isIP`: {@link isIPv4Format} or {@link isIPv6Format}. */
export function isIP(value: unknown): value is string {
  return isIPv4Format(value) || isIPv6Format(value)
}

let secondLevelDomains: Set<string> | undefined
function isSecondLevelDomain(name: string): boolean {
  if (!secondLevelDomains) {
    secondLevelDomains = new Set()
    for (const entry of secondLevelDomainTable) {
      const [tld, slds] = entry.split(':') as [string, string]
      for (const sld of slds.split(',')) secondLevelDomains.add(`${sld}.${tld}`)
    }
  }
  return secondLevelDomains.has(name)
}

const domainChars = /^[a-z0-9-._*]+$/
// Unanchored at the end, as in is-valid-domain: `a.co.uk*` finds `co.uk` and the `*` is ignored.
const lastTwoLabels = /(.*)\.([a-z0-9]+\.[a-z0-9]+)/
const topLevelDomain = /^(?:xn--)?(?!^\d+$)[a-z0-9]+$/i
const innerLabel = /^[a-zA-Z0-9-_]+$/
const lastLabel = /^[a-zA-Z0-9-]+$/

/**
 * npm `is-valid-domain` 0.0.20 with default options, as ssb-ref calls it: lowercased, one
 * trailing dot ignored, at most 253 characters, at least two labels, a top-level domain that
 * is not all digits (or a known second-level domain such as `co.uk`), labels under 64
 * characters without leading or trailing `-`, `--` only as `xn--`, `_` allowed except in the
 * label just before the top-level domain.
 */
export function isDomain(value: unknown): value is string {
  if (typeof value !== 'string') return false
  let name = value.toLowerCase()
  if (name.endsWith('.')) name = name.slice(0, -1)
  if (name.length > 253 || !domainChars.test(name)) return false

  let labels: string[] | undefined
  const match = lastTwoLabels.exec(name)
  if (match && isSecondLevelDomain(match[2]!)) labels = match[1]!.split('.')
  if (!labels) {
    labels = name.split('.')
    if (labels.length <= 1) return false
    if (!topLevelDomain.test(labels.pop()!)) return false
  }

  return labels.every((label, index) => {
    const pattern = index === labels.length - 1 ? lastLabel : innerLabel
    const dashes = label.split('--').length - 1
    const punycodePrefixes = label.split('xn--').length - 1
    return (
      dashes === punycodePrefixes &&
      pattern.test(label) &&
      label.length < 64 &&
      !label.startsWith('-') &&
      !label.endsWith('-')
    )
  })
}

/**
 * ssb-ref's internal `isHost`: after dropping a leading `ws://` or `wss://`, an IP (by the loose
 * patterns above), a domain (by {@link isDomain}) or `localhost`. Not a string: false.
 */
export function isHost(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const host = value.replace(/^wss?:\/\//, '')
  return isIP(host) || isDomain(host) || host === 'localhost'
}

/**
 * ssb-ref's internal `isPort`: an integer no greater than 65536. Note that negative numbers and
 * 65536 pass, exactly as in ssb-ref; {@link isPortNumber} is the strict check.
 */
export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) <= 65536
}

/** A real TCP port: an integer from 0 to 65535. */
export function isPortNumber(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535
}
