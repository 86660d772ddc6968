//! `runner`: YAML API scenarios in, concurrent HTTP, JUnit out.

pub mod mock;
