/** One line of `imagine doctor`: ok, a warning, a failure that stops the bot from working, or a part not in use. */
export interface CheckResult {
  readonly status: 'ok' | 'warn' | 'fail' | 'off';
  readonly subject: string;
  /** What was found, or what to do about it. */
  readonly detail: string;
}
