//! HAR 1.2 files exported from a browser.
use super::{Ctx, FileOut};

pub fn import(_sources: &[String], _assets: bool, _ctx: &mut Ctx) -> Result<Vec<FileOut>, String> {
    Err("not yet".into())
}
