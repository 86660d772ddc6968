//! OpenAPI documents.
use super::{Ctx, FileOut};

pub fn import(
    _sources: &[String],
    _out: &std::path::Path,
    _ctx: &mut Ctx,
) -> Result<Vec<FileOut>, String> {
    Err("not yet".into())
}
