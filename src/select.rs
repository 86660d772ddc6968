//! Choosing which scenarios run: tags, a text filter, and a stable shard.

use crate::cli::args::Selection;
use crate::scenario::Scenario;

/// Keep the scenarios `sel` asks for, numbered again from 0.
pub fn select(scenarios: Vec<Scenario>, sel: &Selection) -> Vec<Scenario> {
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
    if let Some((k, n)) = sel.shard {
        // Deal the scenarios, sorted by file and name, round-robin: every shard
        // sees the same order, so together the shards cover each scenario once.
        let mut order: Vec<usize> = (0..kept.len()).collect();
        order.sort_by(|a, b| {
            let (x, y) = (&kept[*a], &kept[*b]);
            (x.file.as_ref(), &x.name).cmp(&(y.file.as_ref(), &y.name))
        });
        let mine: std::collections::HashSet<usize> = order
            .into_iter()
            .enumerate()
            .filter(|(pos, _)| pos % n == k - 1)
            .map(|(_, i)| i)
            .collect();
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
    kept
}
