//! The one path every file report takes (JUnit, JSON, HTML, and any added later):
//! mask each finished scenario, keep its rendered pieces on disk in scenario order
//! ([`Spool`]), mask again at the end what a secret learnt since would show in, and
//! write the file atomically, scanned for leaks before it is put in place
//! ([`ReportFile`]). A format only renders: it implements [`FileFormat`] and gets all
//! of this without a line of its own.

use std::borrow::Borrow;
use std::path::PathBuf;

use super::{ReportFile, Reporter, Spool, SpoolReader, Summary};
use crate::events::{Event, RunInfo, ScenarioReport};
use crate::secrets::Redactor;

/// How a file report looks: pure rendering, no masking, no files.
pub trait FileFormat: Send {
    /// What the report is called in messages (`JUnit`, `JSON`, `HTML`).
    fn name(&self) -> &'static str;

    /// The pieces of one finished scenario (masked already), one per stream the
    /// format puts together at the end: most formats have one; the HTML page has
    /// two (its line of the list, its line of data). A format may also keep a few
    /// bytes of its own per scenario here (JUnit's per-file counts).
    fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String>;

    /// The whole report: the format's own text, and each scenario's pieces where
    /// they go ([`Assembly::piece`]). `run` is masked with every secret known now.
    fn assemble(
        &mut self,
        run: Option<&RunInfo>,
        summary: &Summary,
        out: &mut Assembly<'_>,
    ) -> Result<(), String>;
}

/// A report file written in some [`FileFormat`]: the reporter the run uses.
pub struct FileReporter<F> {
    path: PathBuf,
    redactor: Redactor,
    format: F,
    run: Option<RunInfo>,
    /// By stream; made at the first scenario.
    spools: Vec<Spool>,
    /// The first scenario that could not be rendered (refuses the report).
    failed: Option<String>,
    written: bool,
}

impl<F: FileFormat> FileReporter<F> {
    /// A report at `path` (`/dev/stdout` for `-`: see [`super::report_path`]).
    pub fn with_format(path: PathBuf, format: F, redactor: Redactor) -> Self {
        FileReporter {
            path,
            redactor,
            format,
            run: None,
            spools: Vec::new(),
            failed: None,
            written: false,
        }
    }
}

impl<F: FileFormat> Reporter for FileReporter<F> {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => self.run = Some(info.clone()),
            Event::ScenarioFinished(s) => {
                // The pump has masked it already (then this copies nothing); a
                // reporter fed some other way must not render an unmasked report.
                let mut s = s.clone();
                crate::secrets::mask_shared(&mut s, &self.redactor);
                match self.format.scenario(&s) {
                    Ok(pieces) => {
                        for (k, bytes) in pieces.iter().enumerate() {
                            while self.spools.len() <= k {
                                self.spools.push(Spool::new(&self.path));
                            }
                            self.spools[k].put(s.index, bytes, s.masked_with);
                        }
                    }
                    Err(e) => {
                        self.failed.get_or_insert(e);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if std::mem::replace(&mut self.written, true) {
            return Err(format!(
                "the {} report was already written",
                self.format.name()
            ));
        }
        let readers = std::mem::take(&mut self.spools)
            .into_iter()
            .map(Spool::into_reader)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(run) = self.run.as_mut() {
            self.redactor.scrub_in_place(&mut run.target);
        }
        let path = super::report_path(&self.path);
        let mut out = Assembly {
            sink: Out::File(ReportFile::create(&path, &self.redactor)?),
            pieces: Pieces::Spooled(readers, &self.redactor),
        };
        self.format.assemble(self.run.as_ref(), summary, &mut out)?;
        match out.sink {
            Out::File(file) => file.commit(),
            Out::Memory(_) => Ok(()),
        }
    }
}

/// Where a format writes the report at the end, and where it finds each
/// scenario's pieces.
pub struct Assembly<'a> {
    sink: Out<'a>,
    pieces: Pieces<'a>,
}

enum Out<'a> {
    /// Scanned for secrets before it is put in place (a device or pipe: each write).
    File(ReportFile<'a>),
    /// [`render`]: the caller's scenarios, as given.
    Memory(Vec<u8>),
}

enum Pieces<'a> {
    /// Read back from disk, masked again if a secret was learnt since.
    Spooled(Vec<SpoolReader>, &'a Redactor),
    /// By stream, by scenario index.
    Kept(Vec<Vec<Option<Vec<u8>>>>),
}

impl Assembly<'_> {
    /// Write the format's own text.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.sink {
            Out::File(f) => f.write(bytes),
            Out::Memory(m) => {
                m.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// One past the highest scenario index with a piece in any stream.
    pub fn scenarios(&self) -> usize {
        match &self.pieces {
            Pieces::Spooled(readers, _) => readers.iter().map(SpoolReader::len).max(),
            Pieces::Kept(streams) => streams.iter().map(Vec::len).max(),
        }
        .unwrap_or(0)
    }

    /// Whether scenario `index` has a piece in `stream`.
    pub fn has(&self, stream: usize, index: usize) -> bool {
        match &self.pieces {
            Pieces::Spooled(readers, _) => readers.get(stream).is_some_and(|r| r.has(index)),
            Pieces::Kept(streams) => streams
                .get(stream)
                .and_then(|s| s.get(index))
                .is_some_and(Option::is_some),
        }
    }

    /// Write scenario `index`'s piece of `stream`; whether it had one.
    pub fn piece(&mut self, stream: usize, index: usize) -> Result<bool, String> {
        let bytes: std::borrow::Cow<'_, [u8]> = match &mut self.pieces {
            Pieces::Spooled(readers, redactor) => {
                let Some(reader) = readers.get_mut(stream) else {
                    return Ok(false);
                };
                match reader.read(index, redactor)? {
                    Some(b) => b,
                    None => return Ok(false),
                }
            }
            Pieces::Kept(streams) => match streams.get(stream).and_then(|s| s.get(index)) {
                Some(Some(b)) => std::borrow::Cow::Borrowed(b.as_slice()),
                _ => return Ok(false),
            },
        };
        match &mut self.sink {
            Out::File(f) => f.write(&bytes)?,
            Out::Memory(m) => m.extend_from_slice(&bytes),
        }
        Ok(true)
    }
}

/// The whole report in memory, from scenarios masked already (what a
/// [`FileReporter`] writes piece by piece, for tests and benchmarks).
pub fn render<F: FileFormat, S: Borrow<ScenarioReport>>(
    format: &mut F,
    run: Option<&RunInfo>,
    scenarios: &[S],
    summary: &Summary,
) -> Result<Vec<u8>, String> {
    let mut streams: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
    for s in scenarios.iter().map(S::borrow) {
        for (k, bytes) in format.scenario(s)?.into_iter().enumerate() {
            if streams.len() <= k {
                streams.resize_with(k + 1, Vec::new);
            }
            let stream = &mut streams[k];
            if stream.len() <= s.index {
                stream.resize(s.index + 1, None);
            }
            stream[s.index] = Some(bytes);
        }
    }
    let mut out = Assembly {
        sink: Out::Memory(Vec::new()),
        pieces: Pieces::Kept(streams),
    };
    format.assemble(run, summary, &mut out)?;
    match out.sink {
        Out::Memory(m) => Ok(m),
        Out::File(_) => Err("a report rendered in memory went to a file".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;

    use super::*;
    use crate::events::Outcome;

    /// A format written for this test only: it masks nothing, scans nothing.
    struct Names {
        /// Text of its own to write at the end.
        trailer: String,
    }

    impl FileFormat for Names {
        fn name(&self) -> &'static str {
            "names"
        }

        fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String> {
            Ok(vec![format!("{}: {:?}\n", s.name, s.message).into_bytes()])
        }

        fn assemble(
            &mut self,
            run: Option<&RunInfo>,
            _summary: &Summary,
            out: &mut Assembly<'_>,
        ) -> Result<(), String> {
            if let Some(run) = run {
                out.write(format!("against {}\n", run.target).as_bytes())?;
            }
            for i in 0..out.scenarios() {
                out.piece(0, i)?;
            }
            out.write(self.trailer.as_bytes())
        }
    }

    fn scenario(index: usize, name: &str) -> Arc<ScenarioReport> {
        Arc::new(ScenarioReport {
            message: Some(format!("said {name}")),
            ..ScenarioReport::new(index, name, "a.yaml", Outcome::Failed)
        })
    }

    /// A format that adds text of its own to each scenario's piece: masking the
    /// report before rendering cannot help there, only the scan can.
    struct Encoded {
        extra: String,
    }

    impl FileFormat for Encoded {
        fn name(&self) -> &'static str {
            "encoded"
        }

        fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String> {
            Ok(vec![format!("{}: {}\n", s.name, self.extra).into_bytes()])
        }

        fn assemble(
            &mut self,
            _run: Option<&RunInfo>,
            _summary: &Summary,
            out: &mut Assembly<'_>,
        ) -> Result<(), String> {
            for i in 0..out.scenarios() {
                out.piece(0, i)?;
            }
            Ok(())
        }
    }

    /// A piece that would leak refuses the report, and the report from an earlier
    /// run is left as it was rather than replaced.
    #[test]
    fn a_piece_that_would_leak_refuses_the_report_and_keeps_the_old_one() {
        let r = Redactor::new();
        r.add_labeled("piece-7c1e-44aa-b0d3", "env PIECE_TOKEN");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("encoded.txt");
        std::fs::write(&path, "the earlier run's report\n").unwrap();
        let extra = base64::engine::general_purpose::STANDARD.encode("piece-7c1e-44aa-b0d3");
        let mut rep = FileReporter::with_format(path.clone(), Encoded { extra }, r.clone());
        rep.event(&Event::ScenarioFinished(scenario(0, "plain name")));
        let err = rep.finish(&Summary::default()).unwrap_err();
        assert!(err.contains("env PIECE_TOKEN"), "{err}");
        assert!(err.contains("refusing to write"), "{err}");
        assert!(!err.contains("piece-7c1e"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "the earlier run's report\n"
        );
    }

    /// A piece rendered before a secret was learnt is masked again when the report
    /// is put together: the secret learnt late does not show in it.
    #[test]
    fn a_piece_rendered_before_a_secret_was_learnt_is_masked_again() {
        let r = Redactor::new();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("encoded.txt");
        let extra = base64::engine::general_purpose::STANDARD.encode("late-4b9d-11c2-a7e0");
        let mut rep = FileReporter::with_format(path.clone(), Encoded { extra }, r.clone());
        rep.event(&Event::ScenarioFinished(scenario(0, "plain name")));
        r.add_labeled("late-4b9d-11c2-a7e0", "captured later");
        // Masked again at the end, the base64 of the secret is hidden: the report is
        // written, and holds no form of the secret.
        rep.finish(&Summary::default()).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(r.find_leak(written.as_bytes()).is_none(), "{written}");
        assert!(written.contains("***"), "{written}");
    }

    /// Secrets known when a scenario finishes, learnt after, or held by the run's
    /// target are all masked in what a new format writes, with no masking of its own.
    #[test]
    fn a_new_format_gets_masking_for_free() {
        let r = Redactor::new();
        r.add("early-7c1d-40aa-b2e9");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.txt");
        let format = Names {
            trailer: "end\n".into(),
        };
        let mut rep = FileReporter::with_format(path.clone(), format, r.clone());
        rep.event(&Event::RunStarted(RunInfo {
            total: 2,
            target: "http://u:late-91fe-4c3b-8d20@127.0.0.1".into(),
            jobs: 1,
        }));
        // Fed directly, not through the pump: unmasked when it arrives.
        rep.event(&Event::ScenarioFinished(scenario(
            1,
            "uses early-7c1d-40aa-b2e9",
        )));
        rep.event(&Event::ScenarioFinished(scenario(
            0,
            "uses late-91fe-4c3b-8d20",
        )));
        r.add("late-91fe-4c3b-8d20");
        rep.finish(&Summary::default()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "against http://u:***@127.0.0.1\n\
             uses ***: Some(\"said uses ***\")\n\
             uses ***: Some(\"said uses ***\")\n\
             end\n"
        );
    }

    /// A format that writes a secret in some encoded form of its own is refused:
    /// nothing is left at the path, and the message names the secret's source only.
    #[test]
    fn a_new_format_gets_the_leak_scan_for_free() {
        let r = Redactor::new();
        r.add_labeled("scan-me-5d2a-4f11-90c7", "env DEMO_TOKEN");
        let b64 = base64::engine::general_purpose::STANDARD.encode("scan-me-5d2a-4f11-90c7");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.txt");
        let format = Names {
            trailer: format!("debug: {b64}\n"),
        };
        let mut rep = FileReporter::with_format(path.clone(), format, r.clone());
        rep.event(&Event::ScenarioFinished(scenario(0, "fine")));
        let err = rep.finish(&Summary::default()).unwrap_err();
        assert!(err.contains("env DEMO_TOKEN"), "{err}");
        assert!(!err.contains("scan-me"), "{err}");
        assert!(!path.exists());
        assert!(
            rep.finish(&Summary::default())
                .unwrap_err()
                .contains("already written")
        );
    }
}
