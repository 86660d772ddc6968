//! Choosing which scenarios run: tags, a text filter, and a stable shard (dealt by
//! name, or balanced by the durations of an earlier run).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::scenario::{Entry, Scenario, Suite};

/// Which scenarios to take (the command line's `--tag`, `--skip-tag`, `--filter`,
/// `--shard`, `--shard-timings`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only scenarios with one of these tags (none: no tag needed).
    pub tags: Vec<String>,
    /// Leave out scenarios with any of these tags.
    pub skip_tags: Vec<String>,
    /// Only scenarios whose name or file contains this text (any case).
    pub filter: Option<String>,
    /// Shard K of N (1-based K).
    pub shard: Option<(usize, usize)>,
    /// Durations of earlier runs that balance the shards.
    pub shard_timings: Vec<Timings>,
}

/// What a selection kept, and how many scenarios it started from.
pub struct Selected {
    /// The scenarios to run, numbered again from 0, in file order.
    pub scenarios: Vec<Scenario>,
    /// Scenarios in the files, before any selection.
    pub total: usize,
    /// Scenarios the tags and filter kept, before sharding.
    pub matched: usize,
    /// With `--shard-timings`: how many of the matched scenarios had a duration.
    pub timed: Option<usize>,
}

impl Selected {
    fn counts(&self) -> Counts {
        Counts {
            kept: self.scenarios.len(),
            total: self.total,
            matched: self.matched,
            timed: self.timed,
        }
    }

    /// See [`Counts::is_empty_shard`].
    pub fn is_empty_shard(&self, sel: &Selection) -> bool {
        self.counts().is_empty_shard(sel)
    }

    /// See [`Counts::describe`].
    pub fn describe(&self, sel: &Selection) -> String {
        self.counts().describe(sel)
    }
}

/// How many scenarios a selection kept, and how many it started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Scenarios kept.
    pub kept: usize,
    /// Scenarios in the files, before any selection.
    pub total: usize,
    /// Scenarios the tags and filter kept, before sharding.
    pub matched: usize,
    /// With `--shard-timings`: how many of the matched scenarios had a duration.
    pub timed: Option<usize>,
}

impl Counts {
    /// Nothing to run because the shard is empty, though the filters matched: a
    /// suite split over more machines than it has scenarios. Not an error.
    pub fn is_empty_shard(&self, sel: &Selection) -> bool {
        self.kept == 0 && self.matched > 0 && sel.shard.is_some()
    }

    /// "4 of 10 scenarios (shard 1/3)", for the console.
    pub fn describe(&self, sel: &Selection) -> String {
        let n = self.kept;
        let mut text = format!(
            "{n} of {} scenario{}",
            self.total,
            if self.total == 1 { "" } else { "s" }
        );
        if let Some((k, of)) = sel.shard {
            text.push_str(&format!(
                " (shard {k}/{of} of the {} selected",
                self.matched
            ));
            if let Some(known) = self.timed {
                text.push_str(&format!(
                    "; balanced by --shard-timings, which knew {known} of them"
                ));
            }
            text.push(')');
        }
        text
    }
}

/// Keep the scenarios `sel` asks for, numbered again from 0.
pub fn select(scenarios: Vec<Scenario>, sel: &Selection) -> Vec<Scenario> {
    select_counted(scenarios, sel).scenarios
}

/// [`select`], with the counts before each stage.
pub fn select_counted(scenarios: Vec<Scenario>, sel: &Selection) -> Selected {
    let entries: Vec<Entry<'_>> = scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| s.entry(i))
        .collect();
    let (keep, counts) = choose(&entries, sel);
    let mut kept: Vec<Scenario> = scenarios
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, s)| s)
        .collect();
    for (i, s) in kept.iter_mut().enumerate() {
        s.index = i;
    }
    Selected {
        scenarios: kept,
        total: counts.total,
        matched: counts.matched,
        timed: counts.timed,
    }
}

/// Narrow a checked suite to the scenarios `sel` asks for (numbered again from 0):
/// the suite can only lose scenarios, so what runs is still what was checked.
pub fn select_suite(suite: &mut Suite, sel: &Selection) -> Counts {
    let entries: Vec<Entry<'_>> = suite.entries().collect();
    let (keep, counts) = choose(&entries, sel);
    suite.retain(|i, _| keep.contains(&i));
    counts
}

fn choose(scenarios: &[Entry<'_>], sel: &Selection) -> (HashSet<usize>, Counts) {
    let total = scenarios.len();
    let filter = sel.filter.as_ref().map(|f| f.to_lowercase());
    let matched: Vec<(usize, &Entry<'_>)> = scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| sel.tags.is_empty() || s.tags.iter().any(|t| sel.tags.contains(t)))
        .filter(|(_, s)| !s.tags.iter().any(|t| sel.skip_tags.contains(t)))
        .filter(|(_, s)| {
            filter.as_ref().is_none_or(|f| {
                s.name.to_lowercase().contains(f)
                    || s.file.to_string_lossy().to_lowercase().contains(f)
            })
        })
        .collect();
    let timings = Timings::merge(&sel.shard_timings);
    let timed = timings
        .as_ref()
        .map(|t| matched.iter().filter(|(_, s)| t.of(s).is_some()).count());
    let mut keep: Vec<usize> = matched.iter().map(|(i, _)| *i).collect();
    if let Some((k, n)) = sel.shard {
        let members: Vec<Entry<'_>> = matched.iter().map(|(_, s)| **s).collect();
        let mine = shard_members(&members, k, n, timings.as_ref());
        keep = keep
            .into_iter()
            .enumerate()
            .filter(|(pos, _)| mine.contains(pos))
            .map(|(_, i)| i)
            .collect();
    }
    let counts = Counts {
        kept: keep.len(),
        total,
        matched: matched.len(),
        timed,
    };
    (keep.into_iter().collect(), counts)
}

/// Which of `scenarios` shard `k` of `n` takes. The scenarios are sorted by file
/// and name; every machine computes the same order from the same files (and the
/// same timings), so together the shards take each scenario exactly once.
///
/// Without timings they are dealt round-robin (shard sizes differ by at most one).
/// With timings, the scenarios they know go first, longest first, each to the
/// shard with the least time so far (the lowest-numbered on a tie); those they do
/// not know are then dealt round-robin as without timings.
fn shard_members(
    scenarios: &[Entry<'_>],
    k: usize,
    n: usize,
    timings: Option<&Timings>,
) -> std::collections::HashSet<usize> {
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&scenarios[*a], &scenarios[*b]);
        (x.file, x.name).cmp(&(y.file, y.name))
    });
    let Some(t) = timings else {
        return order
            .into_iter()
            .enumerate()
            .filter(|(pos, _)| pos % n == k - 1)
            .map(|(_, i)| i)
            .collect();
    };
    let mut known: Vec<(usize, f64)> = Vec::new();
    let mut unknown: Vec<usize> = Vec::new();
    for i in order {
        match t.of(&scenarios[i]) {
            Some(d) => known.push((i, d)),
            None => unknown.push(i),
        }
    }
    // Stable: equal durations keep the file-and-name order.
    known.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut load = vec![0.0f64; n];
    let mut mine = std::collections::HashSet::new();
    for (i, d) in known {
        let mut least = 0;
        for (s, l) in load.iter().enumerate() {
            if *l < load[least] {
                least = s;
            }
        }
        load[least] += d;
        if least == k - 1 {
            mine.insert(i);
        }
    }
    mine.extend(
        unknown
            .into_iter()
            .enumerate()
            .filter(|(pos, _)| pos % n == k - 1)
            .map(|(_, i)| i),
    );
    mine
}

/// Scenario durations from earlier runs (`--shard-timings`), by file and name.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    seconds: Arc<HashMap<(String, String), f64>>,
}

/// The part of a JSON report (`--report-json`) that timings need; the rest is skipped.
#[derive(serde::Deserialize)]
struct ReportDoc {
    scenarios: Vec<TimedScenario>,
}

#[derive(serde::Deserialize)]
struct TimedScenario {
    file: String,
    name: String,
    /// Seconds.
    duration: f64,
}

/// A report of a suite of hundreds of thousands of scenarios stays below this.
const TIMINGS_MAX_BYTES: u64 = 4 * 1024 * 1024 * 1024;

impl Timings {
    /// Read a JSON report written by `--report-json`, or every `*.json` report of a
    /// folder (one per shard of the earlier run; none at all on a first run). The
    /// command line's value parser.
    pub fn read(path: &str) -> Result<Timings, String> {
        let p = Path::new(path);
        if !p.is_dir() {
            return Timings::read_file(p);
        }
        let entries = std::fs::read_dir(p).map_err(|e| format!("cannot read {path}: {e}"))?;
        let mut files: Vec<std::path::PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|f| f.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let each = files
            .iter()
            .map(|f| Timings::read_file(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Timings::merge(&each).unwrap_or_default())
    }

    fn read_file(p: &Path) -> Result<Timings, String> {
        use std::io::Read as _;
        let path = p.display();
        let file = std::fs::File::open(p).map_err(|e| format!("cannot read {path}: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        if !meta.is_file() {
            return Err(format!(
                "{path} is not a regular file; give the JSON report of an earlier run (--report-json)"
            ));
        }
        let reader = std::io::BufReader::new(file.take(TIMINGS_MAX_BYTES));
        let doc: ReportDoc = serde_json::from_reader(reader).map_err(|e| {
            format!("{path} is not a JSON report of the runner (--report-json): {e}")
        })?;
        let mut seconds = HashMap::with_capacity(doc.scenarios.len());
        for s in doc.scenarios {
            if s.duration.is_finite() && s.duration >= 0.0 {
                let d = seconds.entry((s.file, s.name)).or_insert(0.0f64);
                *d = d.max(s.duration);
            }
        }
        Ok(Timings {
            seconds: Arc::new(seconds),
        })
    }

    /// Several reports (one per shard of the earlier run) as one; `None` for none.
    fn merge(all: &[Timings]) -> Option<Timings> {
        match all {
            [] => None,
            [one] => Some(one.clone()),
            many => {
                let mut seconds: HashMap<(String, String), f64> = HashMap::new();
                for t in many {
                    for (k, v) in t.seconds.iter() {
                        let d = seconds.entry(k.clone()).or_insert(0.0);
                        *d = d.max(*v);
                    }
                }
                Some(Timings {
                    seconds: Arc::new(seconds),
                })
            }
        }
    }

    /// The duration of `s` in the earlier run, when it ran there.
    fn of(&self, s: &Entry<'_>) -> Option<f64> {
        self.seconds
            .get(&(s.file.display().to_string(), s.name.to_string()))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scenarios `s0`..`s{n-1}` in one file `suite.yaml`.
    fn suite(n: usize) -> (tempfile::TempDir, Vec<Scenario>) {
        let text: String = (0..n)
            .map(|i| format!("  - name: s{i:02}\n    steps:\n      - request: {{ url: /x }}\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("suite.yaml");
        std::fs::write(&path, format!("scenarios:\n{text}")).unwrap();
        let (scenarios, _) = crate::scenario::load::load_suite(&[path], &[]).unwrap();
        (dir, scenarios)
    }

    /// The scenarios of [`suite`] as a checked suite, loaded without the command line.
    fn checked_suite(dir: &tempfile::TempDir) -> Suite {
        let files = [dir.path().join("suite.yaml")];
        let (scenarios, diags) = crate::scenario::load::load_files(&files);
        assert!(diags.is_empty(), "{}", diags.render());
        let (suite, diags, ()) =
            crate::scenario::load::check_suite(scenarios, &[], true, |_, _| ());
        assert!(diags.is_empty(), "{}", diags.render());
        suite
    }

    #[test]
    fn a_checked_suite_is_narrowed_like_a_list_of_scenarios() {
        let tagged = |tags: &[&str]| Selection {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Selection::default()
        };
        let cases = [
            Selection::default(),
            Selection {
                filter: Some("S0".into()),
                ..Selection::default()
            },
            Selection {
                shard: Some((2, 3)),
                ..Selection::default()
            },
            Selection {
                filter: Some("s0".into()),
                shard: Some((1, 4)),
                ..Selection::default()
            },
            tagged(&["none-has-it"]),
        ];
        for sel in cases {
            let (dir, scenarios) = suite(11);
            let listed = select_counted(scenarios, &sel);
            let mut checked = checked_suite(&dir);
            let counts = select_suite(&mut checked, &sel);
            let names = |all: &[Scenario]| -> Vec<(usize, String)> {
                all.iter().map(|s| (s.index, s.name.clone())).collect()
            };
            assert_eq!(
                names(checked.held_scenarios()),
                names(&listed.scenarios),
                "{sel:?}"
            );
            assert_eq!(counts.describe(&sel), listed.describe(&sel), "{sel:?}");
            assert_eq!(counts.is_empty_shard(&sel), listed.is_empty_shard(&sel));
            let expected: Vec<usize> = (0..counts.kept).collect();
            let indexes: Vec<usize> = checked.held_scenarios().iter().map(|s| s.index).collect();
            assert_eq!(indexes, expected, "renumbered from 0: {sel:?}");
        }
    }

    fn timings(scenarios: &[Scenario], secs: &[(usize, f64)]) -> Timings {
        let file = scenarios[0].file.display().to_string();
        Timings {
            seconds: Arc::new(
                secs.iter()
                    .map(|(i, d)| ((file.clone(), format!("s{i:02}")), *d))
                    .collect(),
            ),
        }
    }

    /// Each shard's scenario names, shard 1 first.
    fn shards(scenarios: &[Scenario], n: usize, t: Option<&Timings>) -> Vec<Vec<String>> {
        (1..=n)
            .map(|k| {
                let listed: Vec<Entry<'_>> = scenarios
                    .iter()
                    .enumerate()
                    .map(|(i, s)| s.entry(i))
                    .collect();
                let mut names: Vec<String> = shard_members(&listed, k, n, t)
                    .into_iter()
                    .map(|i| scenarios[i].name.clone())
                    .collect();
                names.sort();
                names
            })
            .collect()
    }

    #[test]
    fn the_shards_together_run_every_scenario_exactly_once() {
        let (_dir, scenarios) = suite(11);
        // Timings for none, some (with ties and a zero), and all of the scenarios.
        let partial = timings(&scenarios, &[(0, 3.0), (4, 0.5), (5, 3.0), (9, 0.0)]);
        let full = timings(
            &scenarios,
            &(0..11).map(|i| (i, (i % 4) as f64)).collect::<Vec<_>>(),
        );
        for t in [None, Some(&partial), Some(&full)] {
            for n in 1..=13 {
                let mut all: Vec<String> = shards(&scenarios, n, t).into_iter().flatten().collect();
                all.sort();
                let expected: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
                assert_eq!(all, expected, "n={n}, timings: {:?}", t.is_some());
            }
        }
    }

    #[test]
    fn timings_balance_the_shards_longest_first() {
        let (_dir, scenarios) = suite(10);
        // One slow scenario and nine quick ones: by name it would share a shard
        // with four quick ones (14 s against 5 s).
        let mut secs = vec![(0, 10.0)];
        secs.extend((1..10).map(|i| (i, 1.0)));
        let t = timings(&scenarios, &secs);
        let got = shards(&scenarios, 2, Some(&t));
        assert_eq!(got[0], vec!["s00"]);
        assert_eq!(got[1].len(), 9);
        let by_name = shards(&scenarios, 2, None);
        assert_eq!(by_name[0].len(), 5, "{by_name:?}");
    }

    #[test]
    fn scenarios_the_timings_do_not_know_are_dealt_by_name() {
        let (_dir, scenarios) = suite(6);
        // s00 (known, 5 s) goes to shard 1; the five unknown ones are dealt
        // round-robin in name order, as they would be without timings.
        let t = timings(&scenarios, &[(0, 5.0)]);
        let got = shards(&scenarios, 2, Some(&t));
        assert_eq!(got[0], vec!["s00", "s01", "s03", "s05"]);
        assert_eq!(got[1], vec!["s02", "s04"]);
    }

    #[test]
    fn a_report_is_read_for_its_durations_and_anything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("run.json");
        std::fs::write(
            &good,
            r#"{"format_version":1,"summary":{"total":2},"scenarios":[
                {"index":0,"name":"a","file":"x.yaml","duration":1.5,"steps":[]},
                {"index":1,"name":"b","file":"x.yaml","duration":0.25,"steps":[{"name":"s"}]}]}"#,
        )
        .unwrap();
        let t = Timings::read(good.to_str().unwrap()).unwrap();
        assert_eq!(t.seconds.get(&("x.yaml".into(), "a".into())), Some(&1.5));
        assert_eq!(t.seconds.get(&("x.yaml".into(), "b".into())), Some(&0.25));
        // A folder: each shard's report, the longest duration of a scenario kept.
        let shards = dir.path().join("shards");
        std::fs::create_dir(&shards).unwrap();
        assert!(
            Timings::read(shards.to_str().unwrap())
                .unwrap()
                .seconds
                .is_empty()
        );
        std::fs::copy(&good, shards.join("run-1.json")).unwrap();
        std::fs::write(
            shards.join("run-2.json"),
            r#"{"scenarios":[{"name":"a","file":"x.yaml","duration":2.0},{"name":"c","file":"y.yaml","duration":3.0}]}"#,
        )
        .unwrap();
        std::fs::write(shards.join("notes.txt"), "not a report").unwrap();
        let t = Timings::read(shards.to_str().unwrap()).unwrap();
        assert_eq!(t.seconds.len(), 3);
        assert_eq!(t.seconds.get(&("x.yaml".into(), "a".into())), Some(&2.0));
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "<testsuites/>").unwrap();
        let cases = [
            (bad.to_str().unwrap().to_string(), "is not a JSON report"),
            ("/dev/null".to_string(), "not a regular file"),
            (
                dir.path().join("nope.json").display().to_string(),
                "cannot read",
            ),
        ];
        for (path, says) in cases {
            let err = Timings::read(&path).unwrap_err();
            assert!(err.contains(says), "{path}: {err}");
        }
    }
}
