//! From paths on the command line to the scenario files they name: folders are
//! walked, each file is named once, in sorted order.

use std::path::{Path, PathBuf};

use super::read::io_reason;
use crate::diagnostic::{Diagnostic, Diagnostics, Loc};

/// Expand files and folders into the scenario files they hold, in sorted order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files = Vec::new();
    let mut diags = Diagnostics::default();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(p, &mut found, &mut diags);
                found.sort();
                if found.is_empty() {
                    diags.push(
                        Diagnostic::new(p, Loc::UNKNOWN, "no scenario files in this folder")
                            .hint("scenario files end in .yaml or .yml"),
                    );
                }
                files.extend(found);
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => diags.push(
                Diagnostic::new(p, Loc::UNKNOWN, format!("cannot read: {}", io_reason(&e)))
                    .hint("give a scenario file or a folder of them"),
            ),
        }
    }
    // A file named twice (`suite suite/a.yaml`, `a.yaml ./a.yaml`) runs once, where first named.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    if diags.is_empty() {
        Ok(files)
    } else {
        Err(diags)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::new(
                dir,
                Loc::UNKNOWN,
                format!("cannot read folder: {}", io_reason(&e)),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, out, diags);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// One key per file, however its path was written.
pub(super) fn same_file_key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| tidy_path(p))
}

/// `suite/orders/../shared/x.yaml` as `suite/shared/x.yaml`: shorter in messages.
/// Lexical only; a `..` that would climb above the start is kept.
pub(super) fn tidy_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}
