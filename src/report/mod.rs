//! Reporters: the console, the GitHub annotations and the report files (JUnit XML,
//! JSON, HTML), each a consumer of the engine's events. [`pump`] masks every event
//! (`secrets::mask_event`) before any reporter sees it; the report files are
//! formats run by [`pipeline`], which masks, writes and scans them alike.

pub mod console;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod pipeline;
pub mod xml;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::events::{Event, Outcome, Verdict};
use crate::secrets::Redactor;

/// The counts a run ends with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Scenarios that passed only after retried attempts.
    pub flaky: usize,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub interrupted: bool,
    /// What the run would have cost on the real API (runs against the embedded mock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<crate::safety::Spend>,
    /// `--max-credits`, and whether the run went over it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// `--openapi-coverage`: the operations and documented responses of each OpenAPI
    /// document the run used, exercised or not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub openapi_coverage: Vec<crate::contract::Coverage>,
}

/// The `--max-credits` check of a run against the embedded mock.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Budget {
    pub max_credits: u64,
    /// Why the run is over budget (or the ledger could not be read); `None`: within it.
    pub exceeded: Option<String>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    pub fn from_verdicts(verdicts: &[Verdict], duration: Duration, interrupted: bool) -> Self {
        let mut s = Summary {
            total: verdicts.len(),
            duration,
            interrupted,
            ..Summary::default()
        };
        for v in verdicts {
            match v.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Error => s.errors += 1,
                Outcome::Skipped => s.skipped += 1,
            }
            s.flaky += usize::from(v.flaky);
        }
        s
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

/// A consumer of events.
pub trait Reporter: Send {
    fn event(&mut self, event: &Event);
    /// Called once after the last event; file reporters write here.
    fn finish(&mut self, summary: &Summary) -> Result<(), String>;
}

/// Feed every event, masked, to every reporter until the engine is done.
pub async fn pump(
    mut rx: UnboundedReceiver<Event>,
    redactor: Redactor,
    mut reporters: Vec<Box<dyn Reporter>>,
) -> Vec<Box<dyn Reporter>> {
    while let Some(mut event) = rx.recv().await {
        crate::secrets::mask_event(&mut event, &redactor);
        for r in reporters.iter_mut() {
            r.event(&event);
        }
    }
    reporters
}

/// Whether a report path means standard output (`--junit -`).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where a report goes: `-` is standard output, written in place as a device
/// (see [`write_report`]); any other path is itself.
pub fn report_path(path: &Path) -> std::path::PathBuf {
    if is_stdout(path) {
        std::path::PathBuf::from("/dev/stdout")
    } else {
        path.to_path_buf()
    }
}

/// Write a report to `path`, then make sure no secret slipped into it.
///
/// Where `path` leads decides how, as a shell redirection would: a device, a pipe or
/// a socket (`/dev/null`, `/dev/stdout`) is written in place and stays what it is; a
/// symbolic link stays a link and the file it points to gets the report; a regular
/// file (or none yet) is replaced atomically (a temporary file in the same folder,
/// then rename), so a reader never sees half a report. A new file gets the mode the
/// umask gives (usually 0644), so that a CI agent running as another user can read it.
pub fn write_report(path: &Path, bytes: &[u8], redactor: &Redactor) -> Result<(), String> {
    let mut file = ReportFile::create(path, redactor)?;
    file.write(bytes)?;
    file.commit()
}

/// Each finished scenario's part of a file report (its JUnit testcases, its JSON
/// object), rendered when the scenario finishes and kept on disk, not in memory,
/// until the report is written in scenario order at the end. What stays in memory
/// per scenario is where its part lies: the same few bytes however large its report.
pub(crate) struct Spool {
    /// The temporary file, or why it cannot be used (the report is refused at the end).
    out: Result<std::io::BufWriter<std::fs::File>, String>,
    /// By scenario index: offset, length, and the redactor's generation the part
    /// was masked with.
    parts: Vec<Option<Part>>,
    end: u64,
}

#[derive(Clone, Copy)]
struct Part {
    offset: u64,
    len: usize,
    generation: Option<u64>,
}

impl Spool {
    /// An unnamed temporary file, gone when the run ends however it ends; in the
    /// folder of the report `path` when it can be (the report will need that room
    /// there anyway), else in the system's temporary folder.
    pub(crate) fn new(path: &Path) -> Spool {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let file = std::fs::create_dir_all(dir)
            .and_then(|_| tempfile::tempfile_in(dir))
            .or_else(|_| tempfile::tempfile());
        Spool {
            out: file
                .map(|f| std::io::BufWriter::with_capacity(64 * 1024, f))
                .map_err(|e| format!("cannot create a temporary file for the report: {e}")),
            parts: Vec::new(),
            end: 0,
        }
    }

    /// Keep `bytes` as the part of scenario `index`, masked at `generation`.
    pub(crate) fn put(&mut self, index: usize, bytes: &[u8], generation: Option<u64>) {
        let Ok(out) = self.out.as_mut() else { return };
        if let Err(e) = out.write_all(bytes) {
            self.out = Err(format!("cannot write a temporary file for the report: {e}"));
            return;
        }
        if self.parts.len() <= index {
            self.parts.resize(index + 1, None);
        }
        self.parts[index] = Some(Part {
            offset: self.end,
            len: bytes.len(),
            generation,
        });
        self.end += bytes.len() as u64;
    }

    /// Done writing: the parts can be read back.
    pub(crate) fn into_reader(self) -> Result<SpoolReader, String> {
        let file = self
            .out?
            .into_inner()
            .map_err(|e| format!("cannot write a temporary file for the report: {e}"))?;
        Ok(SpoolReader {
            file,
            parts: self.parts,
            buf: Vec::new(),
        })
    }
}

/// A [`Spool`]'s parts, read back one at a time.
pub(crate) struct SpoolReader {
    file: std::fs::File,
    parts: Vec<Option<Part>>,
    buf: Vec<u8>,
}

impl SpoolReader {
    /// One past the highest scenario index with a part.
    pub(crate) fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether scenario `index` has a part.
    pub(crate) fn has(&self, index: usize) -> bool {
        matches!(self.parts.get(index), Some(Some(_)))
    }

    /// The part of scenario `index` (`None`: it has none), masked with every secret
    /// known now: a secret learnt after the part was written is masked in its text.
    pub(crate) fn read(
        &mut self,
        index: usize,
        redactor: &Redactor,
    ) -> Result<Option<std::borrow::Cow<'_, [u8]>>, String> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        let Some(Some(part)) = self.parts.get(index).copied() else {
            return Ok(None);
        };
        self.buf.resize(part.len, 0);
        self.file
            .seek(SeekFrom::Start(part.offset))
            .and_then(|_| self.file.read_exact(&mut self.buf))
            .map_err(|e| format!("cannot read back a temporary file of the report: {e}"))?;
        if part.generation == Some(redactor.generation()) {
            return Ok(Some(std::borrow::Cow::Borrowed(&self.buf)));
        }
        let masked = redactor.scrub(&String::from_utf8_lossy(&self.buf));
        Ok(Some(std::borrow::Cow::Owned(masked.into_bytes())))
    }
}

/// A report written piece by piece: each piece is checked for secrets before it
/// goes out. Where the path leads decides the rest (see [`write_report`]): a regular
/// file appears only when complete (a temporary file, then rename) and is read back
/// for secrets afterwards, a slice at a time; a device, pipe or socket is written in
/// place.
pub(crate) struct ReportFile<'a> {
    path: &'a Path,
    redactor: &'a Redactor,
    sink: Sink,
}

enum Sink {
    /// `/dev/null`, `/dev/stdout`, a pipe: written as it goes, never replaced.
    InPlace(std::io::BufWriter<std::fs::File>),
    /// A regular file (or none yet), at the end of any symbolic links.
    Atomic {
        tmp: std::io::BufWriter<tempfile::NamedTempFile>,
        target: std::path::PathBuf,
        /// The permissions to give it once scanned.
        mode: Option<std::fs::Permissions>,
    },
}

/// Read back this much at a time when scanning a written report...
const SCAN_CHUNK: usize = 8 * 1024 * 1024;
/// ...each slice overlapping the one before by this much, so that a secret cut by
/// a slice's end shows whole in the next one (secrets are far shorter).
const SCAN_OVERLAP: usize = 64 * 1024;

impl<'a> ReportFile<'a> {
    pub(crate) fn create(path: &'a Path, redactor: &'a Redactor) -> Result<Self, String> {
        let sink = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(format!("cannot write {}: it is a folder", path.display()));
            }
            Ok(m) if !m.is_file() => {
                // Opened through the link, if any: the kernel follows
                // `/proc/self/fd/1` where no path would.
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Sink::InPlace(std::io::BufWriter::with_capacity(256 * 1024, f))
            }
            _ => {
                let target = link_target(path)?;
                let dir = match target.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => std::path::PathBuf::from("."),
                };
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let mut builder = tempfile::Builder::new();
                builder.prefix(".runner-report-");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    // The kernel takes the umask off, as for any file a program creates.
                    builder.permissions(std::fs::Permissions::from_mode(0o666));
                }
                let tmp = builder
                    .tempfile_in(&dir)
                    .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
                // The mode the report will have; until it is scanned (a run killed
                // while writing leaves the temporary file), only its owner reads it.
                let mode = tmp.as_file().metadata().map(|m| m.permissions()).ok();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    tmp.as_file()
                        .set_permissions(std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
                }
                Sink::Atomic {
                    tmp: std::io::BufWriter::with_capacity(256 * 1024, tmp),
                    target,
                    mode,
                }
            }
        };
        Ok(ReportFile {
            path,
            redactor,
            sink,
        })
    }

    /// Write `bytes`. A regular file is scanned whole before it is put in place
    /// ([`ReportFile::commit`]); what goes to a device or pipe cannot be read back,
    /// so it is scanned here, before it goes out.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let written = match &mut self.sink {
            Sink::InPlace(f) => {
                if let Some(leak) = self.redactor.find_leak(bytes) {
                    return Err(refusal(self.path, &leak));
                }
                f.write_all(bytes)
            }
            Sink::Atomic { tmp, .. } => tmp.write_all(bytes),
        };
        written.map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    /// Read the written file back and scan it for every secret; put it in place
    /// only when none shows. A report that would leak is not written at all, and
    /// a report of an earlier run at the same path is left as it was.
    pub(crate) fn commit(self) -> Result<(), String> {
        use std::io::Read as _;
        let path = self.path;
        let (tmp, target, mode) = match self.sink {
            Sink::InPlace(mut f) => {
                return f
                    .flush()
                    .map_err(|e| format!("cannot write {}: {e}", path.display()));
            }
            Sink::Atomic { tmp, target, mode } => (tmp, target, mode),
        };
        let tmp = tmp
            .into_inner()
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error()))?;
        let mut file = tmp
            .reopen()
            .map_err(|e| format!("cannot read back {}: {e}", path.display()))?;
        // A small report needs no buffer of the full slice: it is zeroed memory.
        let len = file.metadata().map_or(SCAN_CHUNK as u64, |m| m.len());
        let mut buf =
            vec![0u8; usize::try_from(len).map_or(SCAN_CHUNK, |l| l.clamp(1, SCAN_CHUNK))];
        let mut kept = 0;
        let mut start: u64 = 0;
        loop {
            let n = file
                .read(&mut buf[kept..])
                .map_err(|e| format!("cannot read back {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            let filled = kept + n;
            if let Some(leak) = self.redactor.find_leak(&buf[..filled]) {
                // Dropping the temporary file removes it.
                return Err(refusal(
                    path,
                    &format!("{leak} (counting from byte {start})"),
                ));
            }
            kept = SCAN_OVERLAP.min(filled);
            buf.copy_within(filled - kept..filled, 0);
            start += (filled - kept) as u64;
        }
        if let Some(mode) = mode {
            tmp.as_file()
                .set_permissions(mode)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        tmp.persist(&target)
            .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
        Ok(())
    }
}

/// Why a report holding `leak` is not written.
pub(crate) fn refusal(path: &Path, leak: &str) -> String {
    format!(
        "refusing to write {}: it would contain {leak}; this is a bug in the runner, please report it",
        path.display()
    )
}

/// The file a chain of symbolic links ends at (which may not exist yet); `path`
/// itself when it is no link.
fn link_target(path: &Path) -> Result<std::path::PathBuf, String> {
    // Linux gives up after 40 links too.
    const MAX_LINKS: usize = 40;
    let mut cur = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&cur)
                    .map_err(|e| format!("cannot follow the link {}: {e}", cur.display()))?;
                cur = match cur.parent() {
                    Some(parent) if next.is_relative() => parent.join(next),
                    _ => next,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(format!(
        "cannot write {}: more than {MAX_LINKS} symbolic links in a row",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until a report is scanned, its temporary file is readable by its owner
    /// only (a run killed while writing leaves it behind); the report then gets
    /// the mode any new file gets.
    #[cfg(unix)]
    #[test]
    fn an_unscanned_report_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let r = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.xml");
        let mut file = ReportFile::create(&path, &r).unwrap();
        file.write(b"<testsuites/>").unwrap();
        let temps: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(temps.len(), 1);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&temps[0]), 0o600);
        file.commit().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain));
    }

    #[test]
    fn a_report_holding_a_secret_is_not_written() {
        let r = Redactor::new();
        r.add_labeled("hunter2-very-secret", "env DB_PASSWORD");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let encoded = "{\"pw\":\"hunter2%2Dvery%2Dsecret\"}";
        let err = write_report(&path, encoded.as_bytes(), &r).unwrap_err();
        assert!(err.contains("env DB_PASSWORD"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!path.exists());
        write_report(&path, b"{\"pw\":\"***\"}", &r).unwrap();
        assert!(path.exists());
        // A later report that would leak leaves this one as it was, and leaves no
        // temporary file behind.
        let err = write_report(&path, encoded.as_bytes(), &r).unwrap_err();
        assert!(err.contains("refusing to write"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"pw\":\"***\"}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_stays_a_link_and_its_file_gets_the_report() {
        let r = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("sub").join("real.xml");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        let link = dir.path().join("link.xml");
        std::os::unix::fs::symlink("sub/real.xml", &link).unwrap();
        // Dangling first: the file is created where the link points.
        write_report(&link, b"one", &r).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"one");
        write_report(&link, b"two", &r).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"two");
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(real.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("real.xml")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_written_in_place_and_stays_a_pipe() {
        let r = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_report(&fifo, b"<testsuites/>", &r).unwrap();
        assert_eq!(reader.join().unwrap(), b"<testsuites/>");
        use std::os::unix::fs::FileTypeExt as _;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
}
