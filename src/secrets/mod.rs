//! Secrets: which values are secret, and masking them.
//!
//! Two layers of the run use this module. The registry (`redactor.rs`, with the
//! forms a secret takes in `forms.rs` and the escapes undone in `views.rs`) is
//! filled by the command line, the checker and the engine as they learn secrets
//! (which headers carry one is decided here). The masking of events (`mask.rs`)
//! sits between the engine's events and the reporters: every event passes it before
//! any reporter sees it, and every report file is scanned with the same search
//! after it is written (`Redactor::find_leak`, called by `report::ReportFile`).

mod forms;
mod mask;
mod names;
mod redactor;
mod views;

pub use mask::{mask_event, mask_scenario, mask_shared};
pub use names::{
    credentials_of_response, is_secret_header, is_secret_var_name, secret_name, secret_value,
};
pub use redactor::Redactor;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Environment variables with these endings hold secrets.
pub const SECRET_ENV_SUFFIXES: [&str; 4] = ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD"];
