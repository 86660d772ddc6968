//! Exit codes, as documented in docs/exit-codes.md.

/// Every scenario passed (or was skipped).
pub const OK: i32 = 0;
/// At least one scenario failed or errored.
pub const FAILED: i32 = 1;
/// The command line or a scenario file is wrong; nothing was sent.
pub const USAGE: i32 = 2;
/// The run could not finish its job: a report could not be written, a secret
/// would have leaked into one, the mock could not start, or a budget was exceeded.
pub const INTERNAL: i32 = 3;
/// Interrupted by Ctrl-C (SIGINT).
pub const SIGINT: i32 = 130;
/// Stopped by SIGTERM (a cancelled CI pipeline).
pub const SIGTERM: i32 = 143;
