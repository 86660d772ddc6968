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
    // A file named twice (`suite suite/a.yaml`, `a.yaml ./a.yaml`, a link to
    // another file of the folder) runs once, where first named.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(file_identity(f)));
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

/// Equal for two paths of the same file. On Unix its device and inode: one
/// `stat` a file, where resolving the whole path took a `readlink` a component
/// (30,000 of the 70,000 system calls of loading 5000 files).
#[cfg(unix)]
fn file_identity(p: &Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt as _;
    match std::fs::metadata(p) {
        Ok(m) => (m.dev(), m.ino(), PathBuf::new()),
        Err(_) => (0, 0, p.to_path_buf()),
    }
}

#[cfg(not(unix))]
fn file_identity(p: &Path) -> PathBuf {
    same_file_key(p)
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
