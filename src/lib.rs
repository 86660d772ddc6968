//! `runner`: YAML API scenarios in, concurrent HTTP, JUnit out.

pub mod diagnostic;
pub mod mock;
pub mod scenario;
pub mod template;
pub mod engine;
pub mod events;
pub mod http;
pub mod report;
