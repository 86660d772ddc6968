//! Choosing which scenarios run: tags, a text filter, and a stable shard.

use crate::cli::args::Selection;
use crate::scenario::Scenario;

/// What a selection kept, and how many scenarios it started from.
pub struct Selected {
    /// The scenarios to run, numbered again from 0, in file order.
    pub scenarios: Vec<Scenario>,
    /// Scenarios in the files, before any selection.
    pub total: usize,
    /// Scenarios the tags and filter kept, before sharding.
    pub matched: usize,
}

impl Selected {
    /// Nothing to run because the shard is empty, though the filters matched: a
    /// suite split over more machines than it has scenarios. Not an error.
    pub fn is_empty_shard(&self, sel: &Selection) -> bool {
        self.scenarios.is_empty() && self.matched > 0 && sel.shard.is_some()
    }

    /// "4 of 10 scenarios (shard 1/3)", for the console.
    pub fn describe(&self, sel: &Selection) -> String {
        let n = self.scenarios.len();
        let mut text = format!(
            "{n} of {} scenario{}",
            self.total,
            if self.total == 1 { "" } else { "s" }
        );
        if let Some((k, of)) = sel.shard {
            text.push_str(&format!(
                " (shard {k}/{of} of the {} selected)",
                self.matched
            ));
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
    let total = scenarios.len();
    let filter = sel.filter.as_ref().map(|f| f.to_lowercase());
    let mut kept: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| sel.tags.is_empty() || s.tags.iter().any(|t| sel.tags.contains(t)))
        .filter(|s| !s.tags.iter().any(|t| sel.skip_tags.contains(t)))
        .filter(|s| {
            filter.as_ref().is_none_or(|f| {
                s.name.to_lowercase().contains(f)
                    || s.file.to_string_lossy().to_lowercase().contains(f)
            })
        })
        .collect();
    let matched = kept.len();
    if let Some((k, n)) = sel.shard {
        let mine = shard_members(&kept, k, n);
        kept = kept
            .into_iter()
            .enumerate()
            .filter(|(i, _)| mine.contains(i))
            .map(|(_, s)| s)
            .collect();
    }
    for (i, s) in kept.iter_mut().enumerate() {
        s.index = i;
    }
    Selected {
        scenarios: kept,
        total,
        matched,
    }
}

/// Which of `scenarios` shard `k` of `n` takes. The scenarios are sorted by file
/// and name and dealt round-robin: every machine computes the same order from the
/// same files, so together the shards take each scenario exactly once, and their
/// sizes differ by at most one.
fn shard_members(scenarios: &[Scenario], k: usize, n: usize) -> std::collections::HashSet<usize> {
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&scenarios[*a], &scenarios[*b]);
        (x.file.as_ref(), &x.name).cmp(&(y.file.as_ref(), &y.name))
    });
    order
        .into_iter()
        .enumerate()
        .filter(|(pos, _)| pos % n == k - 1)
        .map(|(_, i)| i)
        .collect()
}
