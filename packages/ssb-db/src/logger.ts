/**
 * The logging interface the database writes to: a subset of pino's, so a pino child logger
 * (`logger.child({ mod: 'ssb-db' })`) can be passed as it is.
 */
export interface Logger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
  debug(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/**
 * Used when no logger is given: warnings and errors become process warnings (visible on stderr,
 * testable through `process.on('warning')`), the rest is dropped.
 */
export const defaultLogger: Logger = {
  warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'ScuttlekitDbWarning'),
  error: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'ScuttlekitDbError'),
  info: () => {},
  debug: () => {},
}
