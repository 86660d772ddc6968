//! The scenario model: the file format as typed values, how files load into it,
//! and the checks that run before anything is sent.

pub mod check;
pub mod data;
mod discover;
mod expand;
pub mod expect;
mod include;
pub mod load;
pub mod model;
pub mod read;
pub mod sink;
pub mod suite;
pub mod values;
pub mod yaml_error;

pub use suite::{Action, Entry, Opened, Params, Scenario, Step, Suite};
