//! Postman collections.
use super::{Ctx, FileOut};

pub fn import(_sources: &[String], _ctx: &mut Ctx) -> Result<Vec<FileOut>, String> {
    Err("not yet".into())
}
