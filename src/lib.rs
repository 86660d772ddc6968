//! `runner`: YAML API scenarios in, concurrent HTTP, JUnit out.

pub mod cli;
pub mod contract;
pub mod cores;
pub mod curl;
pub mod diagnostic;
pub mod engine;
pub mod events;
pub mod exit;
pub mod http;
pub mod import;
pub mod jsonyaml;
pub mod number;
pub mod report;
pub mod safety;
pub mod scenario;
pub mod schema;
pub mod secrets;
pub mod select;
pub mod template;
pub mod text;
