//! Safe by default on paid APIs: the cost catalog and the guard that refuses costly
//! steps on a real server unless a scenario declares them (`allow_cost:`) and cancels
//! the jobs it starts (`finally:`). Secret masking lives in `secrets`.

pub mod catalog;
pub mod guard;
pub mod pattern;
pub mod spend;

pub use catalog::{Catalog, CostlyEndpoint};
pub use guard::{RuntimeGuard, Target};
pub use spend::Spend;
