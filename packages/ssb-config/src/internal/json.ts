/**
 * JSON config files: `rc` treats any file whose text starts (after white space) with `{` as
 * JSON, strips `//` and `/* *\/` comments the way npm `strip-json-comments` 2.0.1 does
 * (replacing them with spaces, so offsets still point into the original text) and parses it.
 * Unlike `rc`, a syntax error is reported with its line and column ({@link findJsonSyntaxError}).
 */

/** `rc`'s test for "this file is JSON". */
export function looksLikeJson(text: string): boolean {
  return /^\s*{/.test(text)
}

function blank(text: string): string {
  return text.replace(/\S/g, ' ')
}

/** Replaces comments with white space, keeping every other character where it was. */
export function stripJsonComments(text: string): string {
  let inString = false
  let inComment: false | 'line' | 'block' = false
  let offset = 0
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    const next = text[i + 1]
    if (!inComment && char === '"') {
      const escaped = text[i - 1] === '\\' && text[i - 2] !== '\\'
      if (!escaped) inString = !inString
    }
    if (inString) continue
    if (!inComment && char === '/' && next === '/') {
      out += text.slice(offset, i)
      offset = i
      inComment = 'line'
      i++
    } else if (inComment === 'line' && char === '\r' && next === '\n') {
      i++
      inComment = false
      out += blank(text.slice(offset, i))
      offset = i
    } else if (inComment === 'line' && char === '\n') {
      inComment = false
      out += blank(text.slice(offset, i))
      offset = i
    } else if (!inComment && char === '/' && next === '*') {
      out += text.slice(offset, i)
      offset = i
      inComment = 'block'
      i++
    } else if (inComment === 'block' && char === '*' && next === '/') {
      i++
      inComment = false
      out += blank(text.slice(offset, i + 1))
      offset = i + 1
    }
  }
  return out + (inComment ? blank(text.slice(offset)) : text.slice(offset))
}

/** Where a JSON syntax error is (1-based line and column) and what was found there. */
export interface JsonSyntaxProblem {
  offset: number
  line: number
  column: number
  /** `unexpected "x"` or `unexpected end of file`. */
  detail: string
}

/**
 * Finds the first syntax error in `text` (JSON as `JSON.parse` reads it). The engine's own
 * messages do not always give a position, and some quote the surrounding text, which we do not
 * want in an error about a configuration file. Returns `undefined` for valid JSON.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++
  }
  const fail = (): never => {
    throw i
  }
  const literal = (word: string) => {
    for (const char of word) {
      if (text[i] !== char) fail()
      i++
    }
  }
  const string = () => {
    i++ // opening quote
    for (;;) {
      const char = text[i]
      if (char === undefined || char < ' ') fail()
      if (char === '"') {
        i++
        return
      }
      if (char === '\\') {
        i++
        const esc = text[i]
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k
              fail()
            }
          }
          i += 5
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) {
          i++
        } else {
          fail()
        }
      } else {
        i++
      }
    }
  }
  const number = () => {
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i))
    if (!match) fail()
    i += (match as RegExpExecArray)[0].length
  }
  const value = (): void => {
    ws()
    const char = text[i]
    if (char === '{') {
      i++
      ws()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail()
        string()
        ws()
        if (text[i] !== ':') fail()
        i++
        value()
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === '}') {
          i++
          return
        }
        fail()
      }
    } else if (char === '[') {
      i++
      ws()
      if (text[i] === ']') {
        i++
        return
      }
      for (;;) {
        value()
        ws()
        if (text[i] === ',') {
          i++
          continue
        }
        if (text[i] === ']') {
          i++
          return
        }
        fail()
      }
    } else if (char === '"') string()
    else if (char === 't') literal('true')
    else if (char === 'f') literal('false')
    else if (char === 'n') literal('null')
    else number()
  }
  try {
    value()
    ws()
    if (i < text.length) fail()
    return undefined
  } catch (offset) {
    if (typeof offset !== 'number') throw offset
    const before = text.slice(0, offset)
    const line = before.split('\n').length
    const column = offset - (before.lastIndexOf('\n') + 1) + 1
    const found = text[offset]
    const detail =
      found === undefined ? 'unexpected end of file' : `unexpected ${JSON.stringify(found)}`
    return { offset, line, column, detail }
  }
}
